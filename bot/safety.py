"""Safety triage: recognise emergencies in the whole message, before anything is searched.

Deterministic and reviewable: every rule lives in ``knowledge/safety.yaml`` (categories, their
patterns and fixed messages, the cues for negation, past, hypothetical and general talk, and
misspellings), read by :mod:`bot.safety_rules`. This module only applies them:

1. normalise: lower case, apostrophes dropped, "38 point 4" → "38.4", misspellings corrected;
2. cut into clauses at . ! ? ; , and "but" (a decimal comma such as "38,6" is kept);
3. for each clause, every category pattern and every temperature reading is judged in context:
   negated ("no chest pain"), past ("had a fever last month"), hypothetical or general ("what
   should I do if I get a fever") — or an emergency.

An emergency anywhere wins, in the order the categories are listed; otherwise a hypothetical or
general mention is reported so the answer can say who to call if it happens.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.safety_rules import Category, Cues, SafetyRules
from bot.settings import Settings

_NEGATION_WINDOW = 4  # words before a symptom that a negation may stand in
_TEMPERATURE = re.compile(
    r"(?<![\d.,])(\d{2,3}(?:[.,]\d{1,2})?)(?![\d])\s*(°|º|degrees?|deg)?\s*"
    r"(celsius|centigrade|fahrenheit|c|f)?\b"
)
_OTHER_UNITS = re.compile(
    r"\s*(kg|kgs|kilos?|lbs?|pounds|stone|mg|ml|%|percent|years?|yrs|km|miles)\b"
)
_TEMPERATURE_WORDS = re.compile(
    r"\b(temp|temps|temperature|fever|thermometer|reading|read|running)\b"
)
_SENTENCE_BREAK = re.compile(r"[.!?]+(?!\d)|\n+")
_CLAUSE_BREAK = re.compile(r";|,(?!\d)|\bbut\b")


@dataclass(frozen=True)
class Triage:
    """What triage found: an emergency, or a hypothetical/general mention (``urgent`` False)."""

    category: Category
    urgent: bool
    evidence: str  # the words that matched, for logs and tests


_UNITS = "zero one two three four five six seven eight nine".split()
_TENS = {"thirty": 30, "forty": 40}
_DIGITS = "|".join(_UNITS[1:])


_TENS_UNITS = re.compile(rf"\b(thirty|forty)[ -]({_DIGITS})\b")
_HUNDRED = re.compile(rf"\b(?:a |one )?hundred (?:and )?({_DIGITS})\b")
_TENS_ALONE = re.compile(r"\b(thirty|forty)\b(?= (point|degrees))")
_POINT_UNIT = re.compile(rf"\bpoint ({'|'.join(_UNITS)})\b")
_NUMBER_WORD = re.compile(r"\b(?:thirty|forty|hundred|point)\b")
_SPACED_DIGITS = re.compile(r"\b(\d) (\d)\b(?=\s*(point|\.|,))")
_DECIMAL = re.compile(r"(?<!\d)(\d+)\s*(?:point|\.)\s*(\d)\b")  # whole runs: linear
_WORD = re.compile(r"[a-z]+")


def _numbers_in_words(text: str) -> str:
    """ "thirty eight point five" → "38 point 5", "a hundred and one" → "101"."""
    if not _NUMBER_WORD.search(text):  # most messages have none: skip the four passes
        return text
    text = _TENS_UNITS.sub(lambda m: str(_TENS[m.group(1)] + _UNITS.index(m.group(2))), text)
    text = _HUNDRED.sub(lambda m: str(100 + _UNITS.index(m.group(1))), text)
    text = _TENS_ALONE.sub(lambda m: str(_TENS[m.group(1)]), text)
    return _POINT_UNIT.sub(lambda m: f"point {_UNITS.index(m.group(1))}", text)


def normalise(message: str, rules: SafetyRules) -> str:
    """Lower case, apostrophes dropped, numbers in words and spaced digits joined ("3 8 point 6"
    → "38.6"), voice-to-text slips and misspellings corrected."""
    text = message.lower().replace("’", "'").replace("‘", "'").replace("'", "")
    for phrase, meant in rules.phrase_patterns:
        text = phrase.sub(meant, text)
    text = _numbers_in_words(text)
    text = _SPACED_DIGITS.sub(r"\1\2", text)
    text = _DECIMAL.sub(r"\1.\2", text)
    if rules.spellings.keys().isdisjoint(_WORD.findall(text)):
        return text
    return _WORD.sub(lambda m: rules.spellings.get(m.group(0), m.group(0)), text)


def _parts(text: str, breaks: re.Pattern[str]) -> list[str]:
    return [part.strip() for part in breaks.split(text) if part and part.strip()]


def clauses(text: str) -> list[tuple[str, str]]:
    """(sentence, clause) pairs of a normalised message, in order."""
    return [
        (sentence, clause)
        for sentence in _parts(text, _SENTENCE_BREAK)
        for clause in _parts(sentence, _CLAUSE_BREAK)
    ]


def _fever_readings(clause: str, rules: SafetyRules) -> list[re.Match[str]]:
    """Temperature readings at or above the fever threshold, in a temperature context."""
    found = []
    for match in _TEMPERATURE.finditer(clause):
        value = float(match.group(1).replace(",", "."))
        unit = (match.group(3) or "")[:1]
        context = _TEMPERATURE_WORDS.search(clause[max(0, match.start() - 40) : match.start()])
        # "hes now 39.5": a decimal in fever range is a temperature unless another unit follows
        decimal = "." in match.group(1) or "," in match.group(1)
        in_range = 38 <= value <= 43 or rules.fever_fahrenheit <= value <= 106
        bare_reading = decimal and in_range and not _OTHER_UNITS.match(clause, match.end())
        if not (match.group(2) or unit or context or bare_reading):
            continue  # a bare whole number ("i am 39") is an age, a count, anything
        celsius = unit == "c" or (not unit and 35 <= value <= 45)
        fahrenheit = unit == "f" or (not unit and 95 <= value <= 113)
        if (celsius and rules.fever_celsius <= value <= 45) or (
            fahrenheit and rules.fever_fahrenheit <= value <= 113
        ):
            found.append(match)
    return found


def _judge(
    sentence: str, clause: str, match: re.Match[str], cues: Cues, strong: bool = False
) -> str:
    """Whether a symptom matched in a clause is "urgent", "negated", "past" or
    "informational" (hypothetical or general)."""
    before = clause[: match.start()]
    window = " ".join(before.split()[-_NEGATION_WINDOW:])
    if cues.negation.search(window):
        return "negated"
    idiom, past, question, now = _clause_facts(clause, cues)
    if idiom:
        return "idiom"
    present_still, chronic, resolved = _sentence_facts(sentence, cues)
    present = present_still or bool(cues.present_verbs.search(window))
    if not present and (past or chronic or resolved or cues.past_verbs.search(window)):
        return "past"
    if chronic and not present_still:
        return "past"  # "breathless on the stairs for years": chronic beats "ive been"
    if cues.hypothetical.search(before) and not present_still:
        return "informational"
    if strong or present_still:
        return "urgent"  # "is 38.1 high enough to ring the ward?" asks about a real reading
    if question and not cues.personal.search(window):
        return "informational"
    if cues.general.search(before) and not now:
        return "informational"
    return "urgent"


# What _judge asks of a whole clause or sentence is the same for every symptom in it: asked
# once, not once a symptom (a long sentence full of symptom words took 0.55 s at 16 KB). The
# caches hold the Cues they were asked with, so reloaded rules (new Cues) never get old answers.
@functools.lru_cache(maxsize=32)
def _clause_facts(clause: str, cues: Cues) -> tuple[bool, bool, bool, bool]:
    """Whether the clause holds an idiom, a past cue (a treatment's date aside), a question,
    and a "now"."""
    past = cues.past.search(cues.treatment_time.sub(" ", clause))
    return (
        bool(cues.idiom.search(clause)),
        bool(past),
        bool(cues.question.search(clause)),
        bool(cues.now.search(clause)),
    )


@functools.lru_cache(maxsize=32)
def _sentence_facts(sentence: str, cues: Cues) -> tuple[bool, bool, bool]:
    """Whether the sentence says it is happening now (what is resolved aside), is chronic, and
    says something has resolved; "had the chemo 12 days ago" dates the treatment, not the
    symptom, and is left out of all three."""
    dated = cues.treatment_time.sub(" ", sentence)
    still = cues.resolved.sub(" ", dated)
    return (
        bool(cues.present.search(still)),
        bool(cues.chronic.search(dated)),
        bool(cues.resolved.search(dated)),
    )


_FEVER_WORD = re.compile(r"fever|temp")


def _reads_normal(text: str, rules: SafetyRules) -> bool:
    """Whether the text gives a temperature reading below the fever threshold."""
    for match in _TEMPERATURE.finditer(text):
        value = float(match.group(1).replace(",", "."))
        near = _TEMPERATURE_WORDS.search(text[max(0, match.start() - 40) : match.start()])
        normal = 35 <= value < rules.fever_celsius or 95 <= value < rules.fever_fahrenheit
        if normal and (match.group(2) or match.group(3) or near):
            return True
    return False


def _signs(sentence: str, rules: SafetyRules) -> list[Triage]:
    """Categories with two or more of their weak signs in the sentence, each judged in context
    ("rash spreading, lips tingling, took a new antibiotic an hour ago")."""
    found, signs = [], rules.sign_set.matches(sentence)
    for category in rules.categories:
        hits = [match for i, match in signs if rules.sign_owners[i] is category]
        if len(hits) < 2:  # one sign never escalates: no need to judge it
            continue
        urgent = [m for m in hits if _judge(sentence, sentence, m, rules.cues) == "urgent"]
        if len(urgent) >= 2:
            found.append(Triage(category, True, " + ".join(m.group(0) for m in urgent)))
    return found


def _findings(
    clause: str, rules: SafetyRules, reads_normal: bool
) -> list[tuple[Category, re.Match[str], bool]]:
    """(category, match, strong) for every pattern and reading in a clause; a temperature
    reading and a `strong` pattern stay emergencies even when asked as a question."""
    found = [
        (rules.finders[i][0], match, rules.finders[i][1])
        for i, match in rules.findable.matches(clause)
    ]
    fever = rules.category("fever_infection")
    if reads_normal:
        # "fever since this morning but it is only 37.5": the measured number beats the word
        found = [f for f in found if f[0] is not fever or not _FEVER_WORD.search(f[1].group(0))]
    # a reading is a report, kept even when asked as a question ("is 38.1 high enough to ring
    # the ward?"), unless the clause weighs it against a normal one ("is it 38 or 37.5?")
    strong = not _reads_normal(clause, rules)
    return found + [(fever, match, strong) for match in _fever_readings(clause, rules)]


def triage(message: str, rules: SafetyRules) -> Triage | None:
    """An emergency in the message, else a hypothetical/general mention, else None."""
    urgent: list[Triage] = []
    mentioned: list[Triage] = []
    pairs = clauses(normalise(message, rules))
    # a normal reading anywhere in a sentence answers "fever" words in any of its clauses
    normal: dict[str, bool] = {}
    for sentence in dict.fromkeys(sentence for sentence, _ in pairs):
        urgent += _signs(sentence, rules)
        normal[sentence] = _reads_normal(sentence, rules) and not _fever_readings(sentence, rules)
    for sentence, clause in pairs:
        for category, match, strong in _findings(clause, rules, normal[sentence]):
            verdict = _judge(sentence, clause, match, rules.cues, strong)
            if verdict == "urgent":
                urgent.append(Triage(category, True, match.group(0)))
            elif verdict == "informational":
                mentioned.append(Triage(category, False, match.group(0)))
    order = {category.id: i for i, category in enumerate(rules.categories)}
    for found in (urgent, mentioned):
        if found:
            return min(found, key=lambda t: order[t.category.id])
    return None


def asks_for_a_decision(message: str, rules: SafetyRules) -> bool:
    """Whether the message asks about the person's own treatment decision."""
    text = normalise(message, rules)
    return any(pattern.search(text) for pattern in rules.decisions)


def fill(text: str, settings: Settings) -> str:
    """A rule's text with the contacts from settings in place of its placeholders."""
    clinic = "your MS clinic"
    if settings.clinic_phone:
        hours = f" ({settings.clinic_hours})" if settings.clinic_hours else ""
        clinic = f"the clinic on {settings.clinic_phone}{hours}"
    return (
        text.replace("{emergency}", f"the emergency number {settings.emergency_number}")
        .replace("{clinic}", clinic)
        .replace("{crisis}", settings.crisis_line or "a crisis line")
    )
