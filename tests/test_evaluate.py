from pathlib import Path

from bot.evaluate import Case, choose_threshold, load_cases, passes, run_eval
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
    from bot.evaluate import Gate, choose_gate

    inside = [Gate(0.7, False), Gate(0.6, False), Gate(0.65, True)]
    outside = [Gate(0.62, True), Gate(0.2, False), Gate(0.55, True)]
    threshold, penalty, accuracy = choose_gate(inside, outside)
    assert accuracy == 1.0 and penalty > 0
    assert all(g.score(penalty) >= threshold for g in inside)
    assert all(g.score(penalty) < threshold for g in outside)


def test_gate_choice_prefers_no_penalty_when_it_is_not_needed() -> None:
    from bot.evaluate import Gate, choose_gate

    threshold, penalty, accuracy = choose_gate([Gate(0.8, True)], [Gate(0.2, True)])
    assert (penalty, accuracy) == (0.0, 1.0) and 0.2 < threshold < 0.8
