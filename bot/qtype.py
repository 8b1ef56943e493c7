"""Expected answer types: "how many …?" wants a number, "when …?" a time, "where …?" a place.

Sentence embeddings match topics, not the kind of fact asked for: "how many patients were in
the study?" sits as close to "the median age of participants was 31" as to "the study observed
174 MS patients". Classic question answering fixes this with an answer-type check, which is
what this module does, with plain patterns that a reviewer can read.
"""

from __future__ import annotations

import re

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|fifty|"
    r"hundred|thousand|half|third|thirds|quarter|majority|most|decade|decades"
)
_TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    # question pattern, answer pattern
    "number": (
        re.compile(
            r"\b(how many|how much|how old|how likely|what (percentage|percent|proportion|"
            r"share|number|age)|percent|percentage|chance|odds|success rate|average age)\b",
        ),
        re.compile(rf"\d|%|\b({_NUMBER_WORDS})\b"),
    ),
    "time": (
        re.compile(
            r"\b(when|since when|what year|how long|how soon|how many (years|months|days))\b"
        ),
        re.compile(
            r"\b(1[89]\d\d|20\d\d|\d+\s*(days?|weeks?|months?|years?)|"
            r"(one|two|three|four|five|six|ten) (days?|weeks?|months?|years?)|decades?)\b"
        ),
    ),
    "place": (
        re.compile(r"\b(where|which (country|countries|hospital|city|centre|center|clinic))\b"),
        # a capitalised name inside a sentence: "conducted at Uppsala University Hospital"
        re.compile(r"(?<=[a-z,] )[A-Z][a-z]+|(?<=[a-z,] )[A-Z]{2,}\b(?<!MS)"),
    ),
}


def expected_types(question: str) -> list[str]:
    """The answer types a question asks for (often none)."""
    text = " ".join(question.lower().split())
    return [name for name, (asks, _) in _TYPES.items() if asks.search(text)]


def matches(text: str, types: list[str]) -> bool:
    """Whether the text contains an answer of every one of the given types."""
    return all(_TYPES[name][1].search(text) for name in types)
