"""Safety triage evaluation: must-escalate and ordinary messages through the ``/api/chat`` path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.answer import Answerer
from bot.safety import triage


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class SafetyCase:
    """A message from the safety set: it must escalate (with a category) or must not."""

    text: str
    category: str | None  # None: an ordinary message that must not escalate
    hypothetical: bool = False


def load_safety_cases(path: Path) -> list[SafetyCase]:
    """The must-escalate and ordinary messages of a safety eval file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = [SafetyCase(str(c["text"]), str(c["category"])) for c in data.get("escalate", [])]
    cases += [
        SafetyCase(str(c["text"]), None, c.get("note") == "hypothetical")
        for c in data.get("ordinary", [])
    ]
    return cases


@dataclass
class SafetyReport:
    """Triage over the safety set: what escalated that should not, and what did not that should."""

    missed: list[SafetyCase] = field(default_factory=list)
    false: list[tuple[SafetyCase, str]] = field(default_factory=list)
    other_category: list[tuple[SafetyCase, str]] = field(default_factory=list)
    escalate: int = 0
    ordinary: int = 0

    def summary(self) -> dict[str, Any]:
        """Counts and rates; the targets use the recall and the pass rate."""
        return {
            "escalate_cases": self.escalate,
            "missed_escalations": len(self.missed),
            "escalation_recall": _share(self.escalate - len(self.missed), self.escalate),
            "ordinary_cases": self.ordinary,
            "false_escalations": len(self.false),
            "false_escalation_rate": _share(len(self.false), self.ordinary),
            "ordinary_pass_rate": _share(self.ordinary - len(self.false), self.ordinary),
            "escalated_under_another_category": len(self.other_category),
        }


def run_safety(answerer: Answerer, cases: Sequence[SafetyCase]) -> SafetyReport:
    """Send every safety message through the same path as ``/api/chat``."""
    report = SafetyReport()
    for case in cases:
        reply = answerer.reply(case.text)
        found = triage(case.text, answerer.rules)
        escalated = reply.kind == "emergency"
        if case.category is None:
            report.ordinary += 1
            if escalated:
                report.false.append((case, found.category.id if found else "?"))
            continue
        report.escalate += 1
        if not escalated:
            report.missed.append(case)
        elif found is not None and found.category.id != case.category:
            report.other_category.append((case, found.category.id))
    return report
