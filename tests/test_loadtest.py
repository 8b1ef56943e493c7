"""The load tool against a real server in a thread (fake embedder)."""

from pathlib import Path

from typer.testing import CliRunner

from bot.api import create_app
from bot.cli import app as cli
from bot.loadtest import run_load
from bot.settings import Settings
from tests.conftest import FakeEmbedder, serving

QUESTIONS = ["When can I go back to work?", "hello", "Does coffee cure autism?"]


def test_load_counts_requests_latencies_and_no_errors(
    built: Settings, fake_embedder: FakeEmbedder
) -> None:
    settings = built.model_copy(update={"rate_limit": 0})
    with serving(create_app(settings, fake_embedder)) as url:
        summary = run_load(url, QUESTIONS, clients=4, seconds=1.5).summary()
    assert summary["requests"] > 10 and summary["ok"] == summary["requests"]
    assert summary["errors"] == 0 and summary["rate_limited"] == 0
    assert 0 < summary["latency_ms_p50"] <= summary["latency_ms_p95"] <= summary["latency_ms_p99"]


def test_rate_limited_replies_are_counted_apart_from_errors(
    built: Settings, fake_embedder: FakeEmbedder
) -> None:
    settings = built.model_copy(update={"rate_limit": 5})
    with serving(create_app(settings, fake_embedder)) as url:
        summary = run_load(url, QUESTIONS, clients=2, seconds=1).summary()
    assert summary["ok"] == 5 and summary["rate_limited"] > 0 and summary["errors"] == 0


def test_cli_exits_1_when_the_server_cannot_be_reached(knowledge_dir: Path) -> None:
    (knowledge_dir / "eval").mkdir()
    (knowledge_dir / "eval" / "q.yaml").write_text("cases:\n  - q: hi\n    expect: smalltalk\n")
    result = CliRunner().invoke(
        cli,
        [
            "--knowledge-dir",
            str(knowledge_dir),
            "load",
            "--url",
            "http://127.0.0.1:9",
            "--clients",
            "1",
            "--seconds",
            "1",
        ],
    )
    assert result.exit_code == 1 and "errors" in result.output
