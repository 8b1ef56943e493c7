import json

import numpy as np
from typer.testing import CliRunner

from bot import scale
from bot.cli import app


def test_synthetic_vectors_are_unit_length_and_clustered() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((5, 64)).astype(np.float32)
    vectors = scale.synthetic_vectors(2000, rng, centres)
    assert vectors.shape == (2000, 64) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # same-cluster pairs are closer than strangers, but only weakly (see the module doc)
    nearest = np.sort(vectors[:50] @ vectors[50:].T, axis=1)[:, -1]
    assert 0.2 < float(np.median(nearest)) < 0.6


def test_synthetic_texts_have_zipf_like_words() -> None:
    texts = scale.synthetic_texts(500, 25, np.random.default_rng(0))
    words = [w for t in texts for w in t.split()]
    assert len(texts) == 500 and all(len(t.split()) == 25 for t in texts)
    counts = sorted((words.count(w) for w in set(words)), reverse=True)
    assert counts[0] > 20 * counts[len(counts) // 2]  # a few words are everywhere


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
    assert by[3000, "vectors: chosen"].note.startswith("HNSW M 32, efConstruction 80, efSearch")
    assert by[3000, "vectors: exact"].recall_at_10 == 1.0
    assert 0.9 <= (by[3000, "vectors: chosen"].recall_at_10 or 0) <= 1.0
    assert all(r.p50_ms > 0 and r.p95_ms >= r.p50_ms for r in rows)
    table = scale.markdown(rows)
    assert table.count("\n") == len(rows) + 1 and "| 3,000 | vectors: chosen |" in table


def test_whole_search_is_timed_exactly_and_through_the_chosen_indexes() -> None:
    # 1500 passages, 6000 spans: passages searched exactly, spans through a graph
    rows = scale.measure_search(1500, queries=20, exact_max=2000)
    exact, chosen = rows
    assert exact.what == "whole search, 4 spans a passage: exact"
    assert exact.build_s is None and exact.note == "the same vectors, flat"
    assert chosen.what == "whole search, 4 spans a passage: chosen"
    assert chosen.note.startswith("passages flat; spans HNSW M 32, efConstruction 80, efSearch")
    assert chosen.build_s and chosen.build_s > 0
    assert 0.8 <= (chosen.recall_at_10 or 0) <= 1.0
    assert all(r.p50_ms > 0 and r.p95_ms >= r.p50_ms for r in rows)
    table = scale.markdown(rows)
    assert "| 1,500 | whole search, 4 spans a passage: exact |  |  | 1.000 |" in table


def test_whole_search_through_exact_indexes_recalls_everything() -> None:
    # under the threshold every kind is flat: both searches are the same, question by question
    rows = scale.measure_search(1000, queries=10, per_passage=2, exact_max=10_000)
    assert rows[1].note == "passages flat; spans flat" and rows[1].recall_at_10 == 1.0


def test_whole_search_on_fewer_questions_says_so_and_pairs_them() -> None:
    # every kind flat: the two searches agree exactly, question by question, if paired right
    rows = scale.measure_search(1000, queries=12, per_passage=2, exact_max=10_000, compared=5)
    exact, chosen = rows
    assert exact.note == "the same vectors, flat; 5 of the 12 questions"
    assert chosen.note == "passages flat; spans flat; recall over 5 questions"
    assert chosen.recall_at_10 == 1.0


def test_synthetic_spans_lie_around_their_passage() -> None:
    rng = np.random.default_rng(0)
    passages = scale.synthetic_vectors(200, rng, rng.standard_normal((2, 384)).astype(np.float32))
    spans = scale._span_vectors(passages, 3, rng)
    assert spans.shape == (600, 384)
    assert np.allclose(np.linalg.norm(spans, axis=1), 1.0, atol=1e-5)
    own = np.einsum("ij,ij->i", spans, np.repeat(passages, 3, axis=0))
    other = np.einsum("ij,ij->i", spans, np.repeat(np.roll(passages, 1, axis=0), 3, axis=0))
    assert float(own.min()) > 0.5 and float(np.median(own)) > float(np.median(other)) + 0.3


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
    assert [r["recall_at_10"] for r in whole] == [1.0, 1.0]
