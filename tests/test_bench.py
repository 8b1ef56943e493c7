"""`faqbot bench` end to end on the tiny knowledge with the real model (the two backends are
the point), kept short: two clients for one second."""

from pathlib import Path

from bot import service
from bot.bench import markdown, run_bench
from bot.embed import Embedder
from bot.settings import Settings


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
