"""End to end with the real packaged model (all-MiniLM-L6-v2, loaded offline): the real
knowledge, the real index, answers over HTTP, and the whole eval set."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot import service
from bot.api import create_app
from bot.calibration import load_calibration
from bot.embed import Embedder
from bot.evaluate import EvalRun, Report, evaluate_folder, load_cases, load_sets
from bot.settings import Settings
from tests.conftest import ROOT


@pytest.fixture(scope="session")
def real_bot(real_settings: Settings, real_embedder: Embedder) -> service.Bot:
    return service.load_bot(real_settings, real_embedder)


EVAL_DIR = ROOT / "knowledge" / "eval"


@pytest.fixture(scope="session")
def run(real_bot: service.Bot) -> EvalRun:
    return evaluate_folder(real_bot.answerer, EVAL_DIR)


@pytest.fixture(scope="session")
def report(run: EvalRun) -> Report:
    return run.reports["all"]


@pytest.fixture(scope="module")
def client(real_settings: Settings, real_embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(real_settings, real_embedder)) as test_client:
        yield test_client


def test_the_newcomers_question_gets_a_short_cited_quote(client: TestClient) -> None:
    response = client.post(
        "/api/chat", json={"message": "Is stem cell therapy for MS still experimental?"}
    )
    data = response.json()
    assert response.status_code == 200 and data["kind"] == "answer"
    first = data["quotes"][0]
    assert "no longer just a futuristic experiment" in first["text"]
    assert len(first["text"]) <= 350
    assert first["source"]["title"] == "Multiple Sclerosis (MS) and Stem Cell Therapy: What’s New?"
    assert first["source"]["citation"] == first["source"]["title"]  # no publisher, date or link


def test_off_topic_questions_get_no_answer_and_greetings_small_talk(client: TestClient) -> None:
    weather = client.post("/api/chat", json={"message": "what's the weather tomorrow?"}).json()
    assert weather["kind"] == "no_answer" and weather["quotes"] == []
    hello = client.post("/api/chat", json={"message": "Hello!"}).json()
    assert hello["kind"] == "smalltalk" and hello["quotes"] == []


def test_every_quote_over_the_eval_set_is_verbatim(report: Report) -> None:
    quotes = [q for result in report.results for q in result.reply.quotes]
    assert len(quotes) >= 50
    for quote in quotes:
        assert quote.source.body[quote.start : quote.end] == quote.text
        assert quote.text in quote.source.body
        assert not quote.text.lstrip().startswith("#")


def test_first_quotes_are_short(report: Report) -> None:
    for result in report.results:
        if result.reply.quotes:
            assert len(result.reply.quotes[0].text) <= 350, result.case.question


def test_eval_meets_the_targets(run: EvalRun) -> None:
    assert run.targets, "knowledge/eval/targets.yaml sets no targets"
    assert set(run.targets) <= set(run.summaries), "a target names a set that does not exist"
    assert run.missed == []


def test_safety_set_is_big_enough_and_never_misses(run: EvalRun) -> None:
    summary = run.summaries["safety"]
    assert summary["escalate_cases"] >= 200 and summary["ordinary_cases"] >= 200
    assert summary["missed_escalations"] == 0
    assert summary["false_escalation_rate"] <= 0.02


def test_eval_sets_are_big_enough() -> None:
    sets = load_sets(EVAL_DIR)
    first = sets["questions"]
    assert sum(c.group == "answer" for c in first) >= 40
    assert sum(c.kind == "no_answer" for c in first) >= 10
    cases = [case for cases in sets.values() for case in cases]
    assert len(cases) >= 120
    assert sum(c.group == "answer" for c in cases) >= 70
    assert sum(c.kind == "no_answer" and not c.history for c in cases) >= 25
    assert sum(c.group == "follow_up" for c in cases) >= 15


def test_ready_reports_the_real_index(client: TestClient) -> None:
    ready = client.get("/readyz").json()
    assert ready["model"] == "all-MiniLM-L6-v2" and ready["counts"]["sources"] == 2


def test_calibration_file_is_separate_from_the_eval(real_settings: Settings) -> None:
    inside, outside = load_calibration(real_settings.eval_dir / "calibration.yaml")
    eval_file = real_settings.eval_dir / "questions.yaml"
    eval_questions = {c.question.lower() for c in load_cases(eval_file)}
    held_out = [c.question.lower() for c in inside] + [q.lower() for q in outside]
    assert len(inside) >= 20 and len(outside) >= 10
    assert not eval_questions & set(held_out)


def test_default_model_resolves_to_the_packaged_folder() -> None:
    from bot.embed import resolve_model

    folder = resolve_model("all-MiniLM-L6-v2")
    assert isinstance(folder, Path) and (folder / "config.json").exists()
