"""The ``faqbot`` command. Tests that build or answer load the real packaged model (local)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import cli, service
from bot.builder import BuildResult
from bot.cli import app
from bot.index import current_path
from bot.settings import Settings

runner = CliRunner()


def _run(knowledge: Path, index: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--knowledge-dir", str(knowledge), "--index-dir", str(index), *args])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ntitle: No id\n---\nBody.\n", "missing 'id'"),
        ("---\nid: [\n---\nBody.\n", "unparsable front matter"),
        ("---\nid: z\ntitle: Empty\n---\n\n", "empty body"),
    ],
)
def test_build_with_bad_knowledge_exits_2_naming_file_and_problem(
    knowledge_dir: Path, tmp_path: Path, text: str, problem: str
) -> None:
    (knowledge_dir / "sources" / "broken.md").write_text(text, encoding="utf-8")
    result = _run(knowledge_dir, tmp_path / "index", "build")
    assert result.exit_code == 2
    assert "broken.md" in result.output and problem in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "index" / "current").exists()


def test_duplicate_id_exits_2(knowledge_dir: Path, tmp_path: Path) -> None:
    original = (knowledge_dir / "sources" / "tiny-news.md").read_text(encoding="utf-8")
    (knowledge_dir / "sources" / "again.md").write_text(original, encoding="utf-8")
    result = _run(knowledge_dir, tmp_path / "index", "build")
    assert result.exit_code == 2 and "duplicate id 'tiny-news'" in result.output


def test_ask_refuses_an_empty_question(knowledge_dir: Path, tmp_path: Path) -> None:
    result = _run(knowledge_dir, tmp_path / "index", "ask", "   ")
    assert result.exit_code == 2 and "1 to 1000 characters" in result.output


def test_build_is_idempotent_and_ask_prints_json(knowledge_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = _run(knowledge_dir, index, "build")
    assert first.exit_code == 0, first.output
    assert "Built index" in first.output
    second = _run(knowledge_dir, index, "build")
    assert second.exit_code == 0 and "nothing to do" in second.output
    forced = _run(knowledge_dir, index, "build", "--force")
    assert forced.exit_code == 0 and "Built index" in forced.output

    asked = _run(knowledge_dir, index, "ask", "--json", "When can I go back to work?")
    assert asked.exit_code == 0, asked.output
    reply = json.loads(asked.output[asked.output.index("{") :])
    assert reply["kind"] == "answer" and "three months" in reply["quotes"][0]["text"]

    readable = _run(knowledge_dir, index, "ask", "When can I go back to work?")
    assert "[1] “Most people return to work" in readable.output

    bodies = current_path(index) / "store-bodies.txt"  # where the quotes are cut from
    bodies.write_bytes(bodies.read_bytes().replace(b"three months", b"seven months"))
    refused = _run(knowledge_dir, index, "ask", "When can I go back to work?")
    assert refused.exit_code == 1 and "does not match its SHA-256" in refused.output


def test_build_warns_when_a_graph_is_short_of_the_recall_target(
    knowledge_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = {
        "spans": {"type": "hnsw", "M": 32, "ef_search": 1024, "recall_at_10": 0.8595},
        "passages": {"type": "hnsw", "M": 32, "ef_search": 128, "recall_at_10": 0.99},
        "faq": {"type": "flat"},
    }
    manifest = {"build_id": "b", "counts": {"sources": 1, "passages": 2, "spans": 3}}
    done = BuildResult(True, tmp_path, manifest | {"vector_index": specs}, "forced")
    monkeypatch.setattr(service, "build", lambda *args, **kwargs: done)
    result = _run(knowledge_dir, tmp_path / "index", "build")
    assert result.exit_code == 0, result.output
    warning = "the approximate index of the spans has recall@10 0.8595 on sample queries"
    assert warning in result.stderr and "efSearch 1024" in result.stderr
    assert "Warning" not in result.stdout and "of the passages" not in result.stderr
    through = {"type": "flat", "searched": False, "passages": 1600, "recall_at_10": 0.91}
    specs |= {"spans": through}
    result = _run(knowledge_dir, tmp_path / "index", "build")
    assert (
        "Warning: the spans found through the passages' search have recall@10 0.91 on sample "
        "queries, short of 0.95 with 1600 passages put forward (twice as many gained under "
        "0.01, or were more than 1600): some questions may miss a close match (check the "
        "answers with `faqbot eval`)." in result.stderr
    )


def test_a_build_on_demand_warns_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {"type": "hnsw", "M": 32, "ef_search": 1024, "recall_at_10": 0.9}
    done = BuildResult(True, tmp_path, {"vector_index": {"passages": spec}}, "missing")
    monkeypatch.setattr(service, "index_staleness", lambda settings: "no index yet")
    monkeypatch.setattr(service, "build", lambda *args, **kwargs: done)
    cli._ensure_index(Settings(index_dir=tmp_path / "index"))
    said = capsys.readouterr().err
    assert "Building the index: no index yet." in said
    assert "the approximate index of the passages has recall@10 0.9" in said


def test_eval_reports_every_set_and_fails_below_target(knowledge_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    assert _run(knowledge_dir, index, "eval").exit_code == 2  # no eval cases yet
    (knowledge_dir / "eval").mkdir()
    (knowledge_dir / "eval" / "basics.yaml").write_text(
        "cases:\n  - q: When can I go back to work?\n    expect: three months\n"
        "  - q: hello\n    expect: smalltalk\n",
        encoding="utf-8",
    )
    targets = knowledge_dir / "eval" / "targets.yaml"
    targets.write_text("basics:\n  first_quote_accuracy: 1.0\n", encoding="utf-8")
    passed = _run(knowledge_dir, index, "eval")
    assert passed.exit_code == 0, passed.output
    assert "| first_quote_accuracy | 1.0 | 1.0 |" in passed.output  # columns: all, basics
    targets.write_text("all:\n  follow_up_accuracy: 0.9\n", encoding="utf-8")
    failed = _run(knowledge_dir, index, "eval", "--json")
    assert failed.exit_code == 1
    assert "below target: all follow_up_accuracy: None < 0.9" in failed.output
    missing = _run(knowledge_dir, index, "calibrate")
    assert missing.exit_code == 2 and "calibration.yaml not found" in missing.output


def test_build_with_broken_safety_rules_exits_2(knowledge_dir: Path, tmp_path: Path) -> None:
    (knowledge_dir / "safety.yaml").write_text("categories: []\n", encoding="utf-8")
    result = _run(knowledge_dir, tmp_path / "index", "build")
    assert result.exit_code == 2 and "safety rules" in result.output
    assert "Traceback" not in result.output
