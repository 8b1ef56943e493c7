"""The safety rules: ``knowledge/safety.yaml`` read, checked and compiled for triage.

Categories of emergency (their fixed messages and patterns), the cues that make a symptom
mention something else (negated, past, hypothetical, general), misspellings, phrases, the fever
thresholds and the treatment-decision patterns. :mod:`bot.safety` applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.patternset import PatternSet

SAFETY_FILE = "safety.yaml"


class SafetyRulesError(ValueError):
    """``knowledge/safety.yaml`` is missing a part or holds a pattern that does not compile."""


@dataclass(frozen=True)
class Category:
    """One kind of emergency: its fixed escalation message and the patterns that show it."""

    id: str
    title: str
    message: str
    if_it_happens: str
    patterns: tuple[re.Pattern[str], ...]
    signs: tuple[re.Pattern[str], ...] = ()  # weak alone; two in one sentence are an emergency
    strong: tuple[re.Pattern[str], ...] = ()  # an emergency even asked as a question


# compared and hashed by identity: triage's caches key on it, and hashing its fourteen
# compiled patterns on every lookup cost more than the caches saved
@dataclass(frozen=True, eq=False)
class Cues:
    """Cues that make a symptom mention something other than an emergency (see the file)."""

    negation: re.Pattern[str]
    past: re.Pattern[str]
    chronic: re.Pattern[str]
    resolved: re.Pattern[str]
    treatment_time: re.Pattern[str]
    past_verbs: re.Pattern[str]
    present_verbs: re.Pattern[str]
    hypothetical: re.Pattern[str]
    question: re.Pattern[str]
    personal: re.Pattern[str]
    general: re.Pattern[str]
    present: re.Pattern[str]
    idiom: re.Pattern[str]
    now: re.Pattern[str]


@dataclass(frozen=True)
class SafetyRules:
    """Everything triage needs, loaded from the safety file."""

    categories: tuple[Category, ...]
    cues: Cues
    spellings: dict[str, str]
    fever_celsius: float
    fever_fahrenheit: float
    decisions: tuple[re.Pattern[str], ...]
    decision_message: str
    phrase_patterns: tuple[tuple[re.Pattern[str], str], ...]  # rules' phrases, compiled
    # every category's patterns and strong patterns, and every sign, searched as two sets:
    # most messages mention no emergency, and ~200 searches a clause added up (~100 µs; see
    # bot/patternset.py). By index: the category a pattern belongs to, and whether it is strong.
    findable: PatternSet
    finders: tuple[tuple[Category, bool], ...]
    sign_set: PatternSet
    sign_owners: tuple[Category, ...]

    def category(self, category_id: str) -> Category:
        """The category with this id."""
        return next(c for c in self.categories if c.id == category_id)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern))
    except re.error as exc:
        raise SafetyRulesError(f"{where}: pattern {pattern!r} does not compile: {exc}") from None


def _category(raw: dict[str, Any]) -> Category:
    where = f"category '{raw.get('id', '?')}'"
    missing = [k for k in ("id", "title", "message", "if_it_happens", "patterns") if not raw.get(k)]
    if missing:
        raise SafetyRulesError(f"{where}: missing {', '.join(missing)}")
    patterns = tuple(_compile(p, where) for p in raw["patterns"])
    signs = tuple(_compile(p, f"{where} signs") for p in raw.get("signs") or [])
    strong = tuple(_compile(p, f"{where} strong") for p in raw.get("strong") or [])
    return Category(
        str(raw["id"]),
        str(raw["title"]),
        str(raw["message"]),
        str(raw["if_it_happens"]),
        patterns,
        signs,
        strong,
    )


def _lower_map(data: Any) -> dict[str, str]:
    return {str(k).lower(): str(v).lower() for k, v in (data or {}).items()}


def parse_rules(data: Any) -> SafetyRules:
    """Rules from the parsed safety file; raises :class:`SafetyRulesError` on a problem."""
    if not isinstance(data, dict) or not data.get("categories"):
        raise SafetyRulesError("must hold 'categories' and the clause cues")
    cue_names = tuple(Cues.__dataclass_fields__)
    missing = [name for name in cue_names if not data.get(name)]
    if missing:
        raise SafetyRulesError(f"missing {', '.join(missing)}")
    cues = Cues(*(_compile(data[name], name) for name in cue_names))
    decisions = data.get("decisions") or {}
    fever = data.get("fever") or {}
    categories = tuple(_category(raw) for raw in data["categories"])
    if "fever_infection" not in {c.id for c in categories}:
        raise SafetyRulesError("category 'fever_infection' is required: temperatures fire it")
    phrases = _lower_map(data.get("phrases"))
    # in each category its patterns, then its strong patterns: the order triage reports them
    owned = [(c, strong, p) for c in categories for strong in (False, True) for p in _of(c, strong)]
    return SafetyRules(
        categories=categories,
        cues=cues,
        spellings=_lower_map(data.get("spellings")),
        fever_celsius=float(fever.get("celsius", 38.0)),
        fever_fahrenheit=float(fever.get("fahrenheit", 100.4)),
        decisions=tuple(_compile(p, "decisions") for p in decisions.get("patterns", [])),
        decision_message=str(decisions.get("message", "")),
        phrase_patterns=tuple(
            (re.compile(rf"\b{re.escape(phrase)}\b"), meant) for phrase, meant in phrases.items()
        ),
        findable=PatternSet([pattern for _, _, pattern in owned]),
        finders=tuple((category, strong) for category, strong, _ in owned),
        sign_set=PatternSet([sign for c in categories for sign in c.signs]),
        sign_owners=tuple(c for c in categories for _ in c.signs),
    )


def _of(category: Category, strong: bool) -> tuple[re.Pattern[str], ...]:
    return category.strong if strong else category.patterns


def load_rules(knowledge_dir: Path) -> SafetyRules:
    """The triage rules of a knowledge folder; raises :class:`SafetyRulesError`."""
    path = knowledge_dir / SAFETY_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SafetyRulesError(f"{path}: cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SafetyRulesError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return parse_rules(data)
    except SafetyRulesError as exc:
        raise SafetyRulesError(f"{path}: {exc}") from None
