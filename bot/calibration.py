"""Choose the no-answer gate (FAQBOT_MIN_SCORE and FAQBOT_UNKNOWN_WORD_PENALTY) from the held-out
calibration questions, so the numbers in the settings come from a measurement, not a guess."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.answer import Answerer
from bot.evaluate import Case, case_from

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
    inside = [case_from(raw) for raw in data.get("in_scope", [])]
    return inside, [str(q) for q in data.get("out_of_scope", [])]
