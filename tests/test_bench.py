"""`faqbot bench` end to end on the tiny knowledge with the real model (the two backends are
the point), kept short: two clients for one second."""

import json
from pathlib import Path

import pytest

from bot import service
from bot.api.app import create_app
from bot.bench import KeepAlive, _status_and_length, markdown, run_bench
from bot.embed import Embedder
from bot.settings import Settings
from tests.conftest import serving


def test_bench_measures_everything_it_promises(
    knowledge_dir: Path, tmp_path: Path, real_embedder: Embedder
) -> None:
    (knowledge_dir / "eval").mkdir()
    (knowledge_dir / "eval" / "q.yaml").write_text(
        "cases:\n  - q: When can I go back to work?\n    expect: three months\n"
        "  - q: hello\n    expect: smalltalk\n",
        encoding="utf-8",
    )
    settings = Settings(knowledge_dir=knowledge_dir, index_dir=tmp_path / "index")
    service.build(settings, embedder=real_embedder)
    result = run_bench(settings, clients=2, seconds=1)
    for name in (
        "ready_s",
        "http_seq_p50_ms",
        "http_2x_rps",
        "embed_torch_ms",
        "embed_onnx_ms",
        "build_passages_per_s",
        "server_peak_mb",
    ):
        assert result[name] > 0, name
    assert result["http_2x_errors"] == 0 and result["questions"] == 2
    table = markdown(result)
    assert "| embed_speedup |" in table and "≥ 4×" in table


def test_the_keep_alive_client_reads_whole_replies_one_after_another(
    built: Settings, fake_embedder: Embedder
) -> None:
    """The bench's lean client: several requests on one socket, each reply read whole by its
    Content-Length (one far larger than a socket read), and the status of a refusal."""
    with serving(create_app(built, fake_embedder)) as url:
        client = KeepAlive(url)
        try:
            for message in ("When can I go back to work?", "hello", "x" * 900):
                status, body = client.post("/api/chat", json.dumps({"message": message}).encode())
                assert status == 200 and json.loads(body)["kind"]
            status, body = client.post("/api/chat", b"{" + b" " * 200_000 + b"}")
            assert status == 413 and "at most" in json.loads(body)["error"]
        finally:
            client.close()


def test_a_reply_without_content_length_is_refused() -> None:
    with pytest.raises(RuntimeError, match="Content-Length"):
        _status_and_length(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked")
    assert _status_and_length(b"HTTP/1.1 429 Too Many\r\ncontent-length: 12") == (429, 12)
