"""The evaluation harness: run eval cases through the same path as ``/api/chat`` and score them,
per case set, against the targets in ``targets.yaml`` (safety sets: see bot.safety_eval; the
no-answer gate: see bot.calibration)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.answer import Answerer
from bot.models import Reply, Turn
from bot.retrieve import MODES, Retriever
from bot.safety_eval import SafetyCase, SafetyReport, load_safety_cases, run_safety

KINDS = ("no_answer", "smalltalk")


@dataclass(frozen=True)
class Case:
    """One question, the earlier user turns it follows (if any), and what its reply must show."""

    question: str
    expect: tuple[str, ...]  # acceptable phrases, or a single reply kind
    history: tuple[str, ...] = ()  # earlier user turns, oldest first

    @property
    def kind(self) -> str:
        """The reply kind this case expects."""
        return self.expect[0] if self.expect[0] in KINDS else "answer"

    @property
    def group(self) -> str:
        """Which figure the case counts toward: follow-ups are scored on their own."""
        return "follow_up" if self.history else self.kind

    def turns(self) -> list[Turn]:
        """The history as the API would receive it."""
        return [Turn("user", text) for text in self.history]


@dataclass
class CaseResult:
    """A case, the reply it got, whether that reply passes, and the passage ranking."""

    case: Case
    reply: Reply
    passed: bool
    seconds: float
    gold_rank: int | None = None  # 1-based rank of the first gold passage in the top 5


@dataclass
class Report:
    """All results plus the summary figures."""

    results: list[CaseResult] = field(default_factory=list)

    def _group(self, group: str) -> list[CaseResult]:
        return [r for r in self.results if r.case.group == group]

    def _rate(self, group: str) -> float | None:
        picked = self._group(group)
        return _share(sum(r.passed for r in picked), len(picked))

    def _any_quote(self) -> float | None:
        picked = self._group("answer")
        hits = sum(any(_contains(q.text, r.case.expect) for q in r.reply.quotes) for r in picked)
        return _share(hits, len(picked))

    def _mrr(self) -> float | None:
        picked = self._group("answer")
        return _share(sum(1 / r.gold_rank for r in picked if r.gold_rank), len(picked))

    def _no_answer(self) -> tuple[float | None, float | None]:
        said = [r for r in self.results if r.reply.kind == "no_answer"]
        wanted = [r for r in self.results if r.case.kind == "no_answer"]
        right = [r for r in said if r.case.kind == "no_answer"]
        return _share(len(right), len(said)), _share(len(right), len(wanted))

    def summary(self) -> dict[str, Any]:
        """Accuracy per kind of case, ranking quality, and latency, in plain numbers."""
        times = sorted(r.seconds * 1000 for r in self.results)
        precision, recall = self._no_answer()
        answers = self._group("answer")
        return {
            "cases": len(self.results),
            "first_quote_accuracy": self._rate("answer"),
            "any_quote_accuracy": self._any_quote(),
            "mrr_at_5": self._mrr(),
            "no_answer_precision": precision,
            "no_answer_recall": recall,
            "no_answer_accuracy": self._rate("no_answer"),
            "follow_up_accuracy": self._rate("follow_up"),
            "smalltalk_accuracy": self._rate("smalltalk"),
            "false_no_answer": sum(r.reply.kind == "no_answer" for r in answers),
            "longest_first_quote": max(
                (len(r.reply.quotes[0].text) for r in self.results if r.reply.quotes), default=0
            ),
            "latency_ms_p50": round(statistics.median(times), 2) if times else 0.0,
            "latency_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2) if times else 0.0,
        }


def _share(part: float, whole: int) -> float | None:
    """part / whole to four places; None when there is nothing to measure."""
    return round(part / whole, 4) if whole else None


def _normalise(text: str) -> str:
    for curly, plain in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        text = text.replace(curly, plain)
    return " ".join(text.lower().split())


def _contains(text: str, phrases: Sequence[str]) -> bool:
    normal = _normalise(text)
    return any(_normalise(phrase) in normal for phrase in phrases)


def case_from(raw: dict[str, Any]) -> Case:
    """A case from its YAML mapping (``q``, ``expect``, optional ``history``)."""
    expect = raw["expect"]
    phrases = tuple(str(p) for p in expect) if isinstance(expect, list) else (str(expect),)
    history = tuple(str(t) for t in raw.get("history", []))
    return Case(" ".join(str(raw["q"]).split()), phrases, history)


def load_cases(path: Path) -> list[Case]:
    """Cases from an eval YAML file (``cases: [{q, expect, history?}]``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [case_from(raw) for raw in data.get("cases", [])]


def files_with(eval_dir: Path, key: str) -> list[Path]:
    """The YAML files of the folder whose top level holds ``key``, in name order."""
    found = []
    for path in sorted(eval_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and key in data:
            found.append(path)
    return found


def load_sets(eval_dir: Path) -> dict[str, list[Case]]:
    """Every case set in the folder: each YAML file with a ``cases`` list, by file stem.
    (Safety sets have ``escalate`` and ``ordinary`` lists instead.)"""
    return {path.stem: load_cases(path) for path in files_with(eval_dir, "cases")}


def load_safety_sets(eval_dir: Path) -> dict[str, list[SafetyCase]]:
    """Every safety set in the folder: each YAML file with an ``escalate`` list, by file stem."""
    return {path.stem: load_safety_cases(path) for path in files_with(eval_dir, "escalate")}


def load_targets(eval_dir: Path) -> dict[str, dict[str, float]]:
    """Targets per case set (``all`` for every set together) from ``targets.yaml``."""
    path = eval_dir / "targets.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return {str(k): {str(m): float(v) for m, v in t.items()} for k, t in (data or {}).items()}


def missed_targets(
    summaries: dict[str, dict[str, Any]], targets: dict[str, dict[str, float]]
) -> list[str]:
    """Each target a summary falls short of, as "set metric: value < target"."""
    return [
        f"{name} {metric}: {summaries[name].get(metric)} < {target}"
        for name, wanted in targets.items()
        for metric, target in wanted.items()
        if name in summaries and (summaries[name].get(metric) or 0) < target
    ]


def passes(case: Case, reply: Reply) -> bool:
    """Whether a reply meets a case: the right kind, and for answers the first quote
    contains one of the expected phrases."""
    if case.kind != "answer":
        return reply.kind == case.kind
    if reply.kind != "answer" or not reply.quotes:
        return False
    return _contains(reply.quotes[0].text, case.expect)


def gold_rank(answerer: Answerer, case: Case) -> int | None:
    """Rank (1-5) of the first passage holding an expected phrase among the top five distinct
    passages retrieval returns, or None."""
    if case.kind != "answer":
        return None
    store = answerer.retriever.index.store
    seen: list[str] = []
    for hit in answerer.search(case.question, case.turns()).hits:
        if hit.passage.id in seen:
            continue
        seen.append(hit.passage.id)
        if _contains(store.passage_text(hit.passage), case.expect):
            return len(seen)
        if len(seen) == 5:
            break
    return None


def run_eval(answerer: Answerer, cases: Sequence[Case], ranks: bool = True) -> Report:
    """Answer every case and score it; ``ranks=False`` skips the MRR search (faster).

    The query cache is emptied first: latencies are those of questions never seen before.
    """
    clear = getattr(answerer.retriever.embedder, "clear", None)
    if clear is not None:
        clear()
    report = Report()
    for case in cases:
        started = time.perf_counter()
        reply = answerer.reply(case.question, case.turns())
        elapsed = time.perf_counter() - started
        rank = gold_rank(answerer, case) if ranks else None
        result = CaseResult(case, reply, passes(case, reply), elapsed, rank)
        report.results.append(result)
    return report


#: Penalties ``faqbot calibrate`` tries for questions with words no source uses.
def run_ablation(answerer: Answerer, cases: Sequence[Case]) -> dict[str, dict[str, Any]]:
    """The eval summary for each retrieval mode (dense-only, BM25-only, final), side by side.

    Each mode ranks with its own weights over the same index, model, settings and gate.
    """
    base = answerer.retriever
    summaries: dict[str, dict[str, Any]] = {}
    for mode, weights in MODES.items():
        retriever = Retriever(base.index, base.embedder, weights)
        summaries[mode] = run_eval(
            Answerer(retriever, answerer.settings, answerer.rules), cases
        ).summary()
    return summaries


@dataclass
class EvalRun:
    """Everything ``faqbot eval`` reports: per-set results, safety results, targets missed."""

    reports: dict[str, Report]  # "all" first, then each case set
    safety: dict[str, SafetyReport]
    summaries: dict[str, dict[str, Any]]  # every set and safety set, by name
    columns: dict[str, dict[str, Any]]  # the answer-quality table: per set, or per mode
    targets: dict[str, dict[str, float]]
    missed: list[str]


def evaluate_folder(answerer: Answerer, eval_dir: Path, ablation: bool = False) -> EvalRun:
    """Run every case set and safety set in ``eval_dir`` and check the targets.

    Raises FileNotFoundError when the folder holds no case set.
    """
    sets = load_sets(eval_dir) if eval_dir.is_dir() else {}
    if not sets:
        raise FileNotFoundError(f"no eval cases in {eval_dir} (YAML files with a 'cases' list)")
    everything = [case for cases in sets.values() for case in cases]
    reports = {"all": run_eval(answerer, everything)}
    reports |= {name: run_eval(answerer, cases) for name, cases in sets.items()}
    summaries = {name: report.summary() for name, report in reports.items()}
    columns = run_ablation(answerer, everything) if ablation else dict(summaries)
    safety = {
        name: run_safety(answerer, cases) for name, cases in load_safety_sets(eval_dir).items()
    }
    summaries |= {name: report.summary() for name, report in safety.items()}
    targets = load_targets(eval_dir)
    return EvalRun(reports, safety, summaries, columns, targets, missed_targets(summaries, targets))
