"""Expected answer types: "how many …?" wants a number, "when …?" a time, "where …?" a place.

Sentence embeddings match topics, not the kind of fact asked for: "how many patients were in
the study?" sits as close to "the median age of participants was 31" as to "the study observed
174 MS patients". Classic question answering fixes this with an answer-type check, which is
what this module does, with plain patterns that a reviewer can read.

Besides the classic number, time and place, two kinds of question are recognised by the shape
their answers take: "why …?" wants a stated cause ("… leading to …", "… because …"), and "is it
better than …?" a comparison ("… lower compared to conventional treatments").
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import numpy.typing as npt

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
            r"\b(when|since when|what year|how long|how soon|how many (years|months|days)|"
            # durability: "do the results last?", "will it last", "long-term"
            r"(do|does|did|will|would|can)\b[\w' ]{0,40}\blasts?\b(?! (year|month|week|time|one))|"
            r"long[- ]term|long[- ]lasting)\b"
        ),
        re.compile(
            r"\b(1[89]\d\d|20\d\d|\d+\s*(days?|weeks?|months?|years?)|"
            r"(one|two|three|four|five|six|ten) (days?|weeks?|months?|years?)|decades?|"
            r"for (many |several )?(years|months|decades))\b"
        ),
    ),
    "place": (
        re.compile(r"\b(where|(which|what) (countr\w*|hospital|city|centre|center|clinic))\b"),
        # a name after a word of place: "conducted at Uppsala University Hospital", "in the
        # UK", "countries like Germany"; any capitalised word would also take disease names
        # ("patients with Relapsing-Remitting MS")
        re.compile(r"\b(in|at|from|like|such as|across)( the)? [A-Z][A-Za-z]+"),
    ),
    "reason": (
        re.compile(r"^(and |so |but )?why\b|\bhow come\b|\bwhat causes\b|\breasons?\b"),
        re.compile(
            r"\b(because|due to|leading to|leads? to|caused by|so that|in order to|"
            r"theori[sz]e|hypothes[a-z]+|as a result)\b"
        ),
    ),
    "comparison": (
        re.compile(
            r"\b(better|worse|safer|riskier|stronger|more effective|less effective) than\b|"
            r"\bcompared?\b|\bcompares\b|\bversus\b|\bvs\b"
        ),
        re.compile(
            r"\bcompared (to|with)\b|\bversus\b|\b(lower|higher|better|worse|greater|fewer) than\b"
        ),
    ),
}


def expected_types(question: str) -> list[str]:
    """The answer types a question asks for (often none)."""
    text = " ".join(question.lower().split())
    return [name for name, (asks, _) in _TYPES.items() if asks.search(text)]


def matches(text: str, types: list[str]) -> bool:
    """Whether the text contains an answer of every one of the given types."""
    return set(types) <= answer_types(text)


def answer_types(text: str) -> frozenset[str]:
    """Every answer type the text contains: computed once per span, since a span's text never
    changes, instead of running every pattern over every candidate of every question."""
    return frozenset(name for name, (_, gives) in _TYPES.items() if gives.search(text))


def type_masks(texts: list[str]) -> dict[str, npt.NDArray[np.bool_]]:
    """For each answer type some text holds, which of ``texts`` hold it (in order)."""
    found = [answer_types(text) for text in texts]
    names = sorted(set().union(*found))
    return {name: np.array([name in types for types in found], dtype=bool) for name in names}


def signature() -> str:
    """A digest of the answer patterns: an index records which patterns its masks came from,
    and is rebuilt when they change."""
    text = "\n".join(f"{name}={gives.pattern}/{gives.flags}" for name, (_, gives) in _TYPES.items())
    return hashlib.sha256(text.encode()).hexdigest()[:16]
