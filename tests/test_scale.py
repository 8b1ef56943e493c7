import json

from typer.testing import CliRunner

from bot import scale, scale_table
from bot.cli import app


def test_run_scale_measures_exact_chosen_and_bm25_for_each_size() -> None:
    rows = scale.run_scale([1500, 3000], queries=20, exact_max=2000)
    assert [(r.size, r.what) for r in rows] == [
        (1500, "vectors: exact"),
        (1500, "vectors: chosen"),
        (1500, "BM25 + top 200"),
        (3000, "vectors: exact"),
        (3000, "vectors: chosen"),
        (3000, "BM25 + top 200"),
    ]
    by = {(r.size, r.what): r for r in rows}
    assert by[1500, "vectors: chosen"].note == "flat"  # under the threshold: exact
    assert by[3000, "vectors: chosen"].note.startswith(
        "HNSW M 32, efConstruction 80, over 8-bit codes, re-scored exactly, efSearch"
    )
    assert by[3000, "vectors: exact"].recall_at_10 == 1.0
    assert 0.9 <= (by[3000, "vectors: chosen"].recall_at_10 or 0) <= 1.0
    assert all(r.p50_ms > 0 and r.p95_ms >= r.p50_ms for r in rows)
    table = scale_table.markdown(rows)
    assert table.count("\n") == len(rows) + 1 and "| 3,000 | vectors: chosen |" in table


def test_scale_command_prints_json() -> None:
    result = CliRunner().invoke(app, ["scale", "--size", "1000", "--queries", "10", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["what"] for r in rows} == {"vectors: exact", "vectors: chosen", "BM25 + top 200"}


def test_scale_command_times_the_whole_search_when_asked() -> None:
    args = ["scale", "--size", "1000", "--queries", "10", "--whole", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    whole = [r for r in json.loads(result.stdout) if r["what"].startswith("whole search")]
    assert [r["recall_at_10"] for r in whole] == [1.0, 1.0, None, None]  # and its parts alone
