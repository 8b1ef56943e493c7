from pathlib import Path

from bot.calibration import choose_threshold
from bot.evaluate import Case, load_cases, passes, run_eval
from bot.models import Quote, Reply, Source
from bot.service import Bot

SOURCE = Source(id="s", title="T", body="He said “it works”.", path="s.md")


def _answer(text: str) -> Reply:
    quote = Quote(text, "s-p01", 0.9, SOURCE, 0, len(text))
    return Reply("answer", "", "", (quote,))


def test_passes_matches_phrases_ignoring_case_and_quote_style() -> None:
    case = Case("q", ('said "it WORKS"',))
    assert passes(case, _answer("He said “it works”."))
    assert not passes(case, _answer("Something else."))
    assert not passes(case, Reply("no_answer", "", ""))


def test_passes_checks_kinds() -> None:
    assert passes(Case("q", ("no_answer",)), Reply("no_answer", "", ""))
    assert not passes(Case("q", ("no_answer",)), _answer("x"))
    assert passes(Case("q", ("smalltalk",)), Reply("smalltalk", "", ""))


def test_threshold_separates_the_two_groups_with_the_widest_margin() -> None:
    assert choose_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.3]) == 0.45
    assert 0.3 < choose_threshold([0.35, 0.6, 0.9], [0.1, 0.2, 0.4]) < 0.6


def test_eval_file_loads_and_runs(bot: Bot, tmp_path: Path) -> None:
    path = tmp_path / "eval.yaml"
    path.write_text(
        "cases:\n  - q: When can I go back to work?\n    expect: three months\n"
        "  - q: xylophone zebra\n    expect: no_answer\n  - q: hi\n    expect: smalltalk\n"
    )
    report = run_eval(bot.answerer, load_cases(path))
    summary = report.summary()
    assert summary["cases"] == 3
    assert summary["first_quote_accuracy"] == 1.0
    assert summary["no_answer_accuracy"] == 1.0 and summary["smalltalk_accuracy"] == 1.0


def test_gate_choice_uses_the_unknown_word_penalty_when_it_separates_better() -> None:
    from bot.calibration import Gate, choose_gate

    inside = [Gate(0.7, False), Gate(0.6, False), Gate(0.65, True)]
    outside = [Gate(0.62, True), Gate(0.2, False), Gate(0.55, True)]
    threshold, penalty, accuracy = choose_gate(inside, outside)
    assert accuracy == 1.0 and penalty > 0
    assert all(g.score(penalty) >= threshold for g in inside)
    assert all(g.score(penalty) < threshold for g in outside)


def test_gate_choice_prefers_no_penalty_when_it_is_not_needed() -> None:
    from bot.calibration import Gate, choose_gate

    threshold, penalty, accuracy = choose_gate([Gate(0.8, True)], [Gate(0.2, True)])
    assert (penalty, accuracy) == (0.0, 1.0) and 0.2 < threshold < 0.8


def test_summary_reports_precision_recall_follow_ups_and_ranking(bot: Bot, tmp_path: Path) -> None:
    path = tmp_path / "eval.yaml"
    path.write_text(
        "cases:\n"
        "  - q: When can I go back to work?\n    expect: three months\n"
        "  - q: xylophone zebra\n    expect: no_answer\n"
        "  - q: quantum banjo\n    expect: three months\n"
        "  - q: what about them?\n"
        '    history: ["how many patients did the study follow?"]\n    expect: 50 patients\n'
    )
    report = run_eval(bot.answerer, load_cases(path))
    summary = report.summary()
    assert summary["first_quote_accuracy"] == 0.5  # the banjo case gets no answer
    assert summary["no_answer_precision"] == 0.5 and summary["no_answer_recall"] == 1.0
    assert summary["follow_up_accuracy"] == 1.0
    assert summary["false_no_answer"] == 1
    ranks = [r.gold_rank for r in report.results if r.case.group == "answer"]
    assert ranks[0] == 1
    assert summary["mrr_at_5"] == round(sum(1 / r for r in ranks if r) / len(ranks), 4)


def test_a_group_without_cases_is_not_measured(bot: Bot) -> None:
    from bot.evaluate import Case

    summary = run_eval(bot.answerer, [Case("hi", ("smalltalk",))]).summary()
    assert summary["first_quote_accuracy"] is None and summary["follow_up_accuracy"] is None
    assert summary["smalltalk_accuracy"] == 1.0


def test_missed_targets_name_set_metric_and_value() -> None:
    from bot.evaluate import missed_targets

    summaries = {"questions": {"first_quote_accuracy": 0.7, "mrr_at_5": None}}
    targets = {"questions": {"first_quote_accuracy": 0.8, "mrr_at_5": 0.5}, "other": {"x": 1}}
    assert missed_targets(summaries, targets) == [
        "questions first_quote_accuracy: 0.7 < 0.8",
        "questions mrr_at_5: None < 0.5",
    ]


def test_ablation_runs_every_mode(bot: Bot) -> None:
    from bot.evaluate import Case, run_ablation

    columns = run_ablation(bot.answerer, [Case("When can I go back to work?", ("three months",))])
    assert set(columns) == {"final", "dense-only", "bm25-only"}
    assert columns["final"]["first_quote_accuracy"] == 1.0
