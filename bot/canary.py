"""Canary questions: the quick check a freshly built index must pass before it serves.

They are the eval's own cases, judged against the eval's own targets
(``knowledge/eval/targets.yaml``), limited to what is quick to measure: answer sets without
the ranking search, and safety sets' must-escalate messages only (triage runs before any
search, so those cost no retrieval). ``faqbot eval`` remains the full measurement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.answer import Answerer
from bot.evaluate import load_safety_sets, load_sets, load_targets, missed_targets, run_eval

#: Metrics the canaries measure; targets on other metrics are left to ``faqbot eval``.
_ANSWER_METRICS = ("first_quote_accuracy", "no_answer_accuracy", "smalltalk_accuracy")


def run_canaries(answerer: Answerer, eval_dir: Path) -> list[str]:
    """Every target the answerer misses, as readable lines; empty when all pass.

    With no targeted case set there is nothing to check a new index against, which is itself
    a reason not to serve it.
    """
    targets = load_targets(eval_dir) if eval_dir.is_dir() else {}
    sets = load_sets(eval_dir) if eval_dir.is_dir() else {}
    checked = {name: t for name, t in targets.items() if name in sets or name == "all"}
    if not checked or not sets:
        return [f"no eval cases with targets in {eval_dir} to check the index with"]
    summaries: dict[str, dict[str, Any]] = {}
    for name in checked:
        cases = [c for s in sets.values() for c in s] if name == "all" else sets[name]
        summaries[name] = run_eval(answerer, cases, ranks=False).summary()
    for name, safety_cases in load_safety_sets(eval_dir).items():
        if name in targets:
            urgent = [case.text for case in safety_cases if case.category is not None]
            caught = sum(answerer.reply(text).kind == "emergency" for text in urgent)
            summaries[name] = {"escalation_recall": caught / len(urgent) if urgent else 1.0}
    wanted = {
        name: {m: v for m, v in t.items() if m in (*_ANSWER_METRICS, "escalation_recall")}
        for name, t in targets.items()
    }
    return missed_targets(summaries, wanted)
