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


def _case(raw: dict[str, Any]) -> Case:
    expect = raw["expect"]
    phrases = tuple(str(p) for p in expect) if isinstance(expect, list) else (str(expect),)
    return Case(" ".join(str(raw["q"]).split()), phrases)


def load_cases(path: Path) -> list[Case]:
    """Cases from an eval YAML file (``cases: [{q, expect}]``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [_case(raw) for raw in data.get("cases", [])]


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


#: Penalties ``faqbot calibrate`` tries for questions with words no source uses.
PENALTIES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


@dataclass(frozen=True)
class Gate:
    """What the no-answer gate looks at for one question."""

    coverage: float
    unknown: bool

    def score(self, penalty: float) -> float:
        """The gate score under a given penalty for unknown words."""
        return self.coverage - (penalty if self.unknown else 0.0)


def gate_inputs(answerer: Answerer, questions: Sequence[str]) -> list[Gate]:
    """Gate inputs for each question the scope list lets through (a question naming a
    not-covered topic is refused whatever its score)."""
    passed = [q for q in questions if not answerer.scope.outside(q)]
    results = [answerer.retriever.search(q) for q in passed]
    return [Gate(r.coverage, bool(r.unknown)) for r in results]


def choose_gate(inside: Sequence[Gate], outside: Sequence[Gate]) -> tuple[float, float, float]:
    """(threshold, penalty, balanced accuracy) that best separate the two groups.

    For each penalty the best threshold is found; the best pair wins, ties going to the
    smaller penalty (the simpler rule).
    """
    best = (-1.0, 0.0, 0.0)
    for penalty in PENALTIES:
        ins = [g.score(penalty) for g in inside]
        outs = [g.score(penalty) for g in outside]
        threshold = choose_threshold(ins, outs)
        accuracy = _balanced(ins, outs, threshold)
        if accuracy > best[0] + 1e-9:
            best = (accuracy, threshold, penalty)
    return best[1], best[2], round(best[0], 4)


def _balanced(inside: Sequence[float], outside: Sequence[float], threshold: float) -> float:
    recall_in = sum(s >= threshold for s in inside) / max(len(inside), 1)
    recall_out = sum(s < threshold for s in outside) / max(len(outside), 1)
    return (recall_in + recall_out) / 2


def choose_threshold(inside: Sequence[float], outside: Sequence[float]) -> float:
    """The threshold that best separates in-scope from out-of-scope top scores.

    Every midpoint between neighbouring observed scores is tried; the one with the highest
    balanced accuracy wins, ties going to the widest gap (the most margin on both sides).
    """
    points: list[float] = sorted(set(inside) | set(outside))
    candidates: list[float] = [(a + b) / 2 for a, b in itertools.pairwise(points)] or [0.5]

    def quality(t: float) -> tuple[float, float]:
        gap = min((abs(s - t) for s in points), default=0.0)
        return _balanced(inside, outside, t), gap

    best: float = max(candidates, key=quality)
    return round(best, 3)


def load_calibration(path: Path) -> tuple[list[Case], list[str]]:
    """(in-scope cases, out-of-scope questions) from the held-out calibration file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    inside = [_case(raw) for raw in data.get("in_scope", [])]
    return inside, [str(q) for q in data.get("out_of_scope", [])]
