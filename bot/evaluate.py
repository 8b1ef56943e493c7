"""The evaluation harness: run eval cases through the same path as ``/api/chat`` and score them.

Also chooses the no-answer threshold from the held-out calibration questions, so the number in
the settings comes from a measurement rather than a guess.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.answer import Answerer
from bot.models import Reply

KINDS = ("no_answer", "smalltalk")


@dataclass(frozen=True)
class Case:
    """One question and what its reply must show."""

    question: str
    expect: tuple[str, ...]  # acceptable phrases, or a single reply kind

    @property
    def kind(self) -> str:
        """The reply kind this case expects."""
        return self.expect[0] if self.expect[0] in KINDS else "answer"


@dataclass
class CaseResult:
    """A case, the reply it got, and whether that reply passes."""

    case: Case
    reply: Reply
    passed: bool
    seconds: float


@dataclass
class Report:
    """All results plus the summary figures."""

    results: list[CaseResult] = field(default_factory=list)

    def _rate(self, kind: str) -> float:
        picked = [r for r in self.results if r.case.kind == kind]
        return sum(r.passed for r in picked) / len(picked) if picked else 1.0

    def summary(self) -> dict[str, Any]:
        """Accuracy per kind of case and latency percentiles, in plain numbers."""
        times = sorted(r.seconds * 1000 for r in self.results)
        return {
            "cases": len(self.results),
            "first_quote_accuracy": round(self._rate("answer"), 4),
            "no_answer_accuracy": round(self._rate("no_answer"), 4),
            "smalltalk_accuracy": round(self._rate("smalltalk"), 4),
            "false_no_answer": sum(
                r.case.kind == "answer" and r.reply.kind == "no_answer" for r in self.results
            ),
            "latency_ms_p50": round(statistics.median(times), 2) if times else 0.0,
            "latency_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2) if times else 0.0,
        }


def _normalise(text: str) -> str:
    for curly, plain in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        text = text.replace(curly, plain)
    return " ".join(text.lower().split())


def load_cases(path: Path) -> list[Case]:
    """Cases from an eval YAML file (``cases: [{q, expect}]``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = []
    for raw in data.get("cases", []):
        expect = raw["expect"]
        phrases = tuple(expect) if isinstance(expect, list) else (str(expect),)
        cases.append(Case(" ".join(str(raw["q"]).split()), phrases))
    return cases


def passes(case: Case, reply: Reply) -> bool:
    """Whether a reply meets a case: the right kind, and for answers the first quote
    contains one of the expected phrases."""
    if case.kind != "answer":
        return reply.kind == case.kind
    if reply.kind != "answer" or not reply.quotes:
        return False
    first = _normalise(reply.quotes[0].text)
    return any(_normalise(phrase) in first for phrase in case.expect)


def run_eval(answerer: Answerer, cases: Sequence[Case]) -> Report:
    """Answer every case and score it."""
    report = Report()
    for case in cases:
        started = time.perf_counter()
        reply = answerer.reply(case.question)
        elapsed = time.perf_counter() - started
        report.results.append(CaseResult(case, reply, passes(case, reply), elapsed))
    return report


def coverage_scores(answerer: Answerer, questions: Sequence[str]) -> list[float]:
    """The score the no-answer gate compares, for each question the scope list lets through
    (a question naming a not-covered topic is refused whatever its score)."""
    passed = [q for q in questions if not answerer.scope.outside(q)]
    return [answerer.retriever.search(q).coverage for q in passed]


def choose_threshold(inside: Sequence[float], outside: Sequence[float]) -> float:
    """The threshold that best separates in-scope from out-of-scope top scores.

    Every midpoint between neighbouring observed scores is tried; the one with the highest
    balanced accuracy wins, ties going to the widest gap (the most margin on both sides).
    """
    points: list[float] = sorted(set(inside) | set(outside))
    candidates: list[float] = [(a + b) / 2 for a, b in itertools.pairwise(points)] or [0.5]

    def quality(t: float) -> tuple[float, float]:
        recall_in = sum(s >= t for s in inside) / max(len(inside), 1)
        recall_out = sum(s < t for s in outside) / max(len(outside), 1)
        gap = min((abs(s - t) for s in points), default=0.0)
        return (recall_in + recall_out) / 2, gap

    best: float = max(candidates, key=quality)
    return round(best, 3)


def load_calibration(path: Path) -> tuple[list[str], list[str]]:
    """(in-scope questions, out-of-scope questions) from the calibration file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("in_scope", [])), list(data.get("out_of_scope", []))
