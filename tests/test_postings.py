from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import bot.postings
from bot.lexical import Bm25
from bot.postings import Postings, columns_sorted
from bot.synthetic import synthetic_texts


def _reference(scores: npt.NDArray[np.float32], k: int) -> tuple[list[int], list[float]]:
    """The top k of scoring every text: best first, ties by row, matched texts only."""
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    order = order[scores[order] > 0]
    return order.tolist(), scores[order].tolist()


def _queries(rng: np.random.Generator) -> list[str]:
    # Zipf-like words: questions mixing words in nearly every text with rare ones; repeats
    # count twice; "zzz" is in no text; the last has only a stop word
    asked = synthetic_texts(60, 4, rng)
    return [*asked, *(f"{q} {q.split()[0]} zzz" for q in asked[:20]), "what"]


@pytest.fixture(scope="module")
def corpus() -> Bm25:
    rng = np.random.default_rng(7)
    # few words, so many texts tie: the order of ties is checked too
    return Bm25(synthetic_texts(3000, 8, rng))


# candidates found among the added columns' rows (SCAN_SHARE 0) and by reading every sum
@pytest.mark.parametrize("scan_share", [0, 10**9])
@pytest.mark.parametrize("score_all_max", [0, 10**9])  # pruned, and scoring every text
@pytest.mark.parametrize("k", [1, 10, 200, 5000])
def test_top_is_exactly_the_best_of_scoring_every_text(
    corpus: Bm25, k: int, score_all_max: int, scan_share: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.postings, "SCORE_ALL_MAX", score_all_max)
    monkeypatch.setattr(bot.postings, "SCAN_SHARE", scan_share)
    corpus._postings = None  # made afresh: nothing kept from another parameter
    rng = np.random.default_rng(k)
    for query in _queries(rng):
        rows, scores = corpus.top(query, k)
        expected_rows, expected_scores = _reference(corpus.scores(query), k)
        assert rows.tolist() == expected_rows, query
        assert scores.tolist() == expected_scores, query  # bit-identical, not close


@pytest.mark.parametrize("score_all_max", [0, 10**9])  # looked up, and from every score
def test_scores_of_any_rows_are_the_full_scores(
    corpus: Bm25, score_all_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.postings, "SCORE_ALL_MAX", score_all_max)
    corpus._postings = None
    rng = np.random.default_rng(3)
    rows = rng.integers(0, len(corpus), 500)  # any order, repeats allowed
    queries = _queries(rng)
    for first, second in zip(queries, reversed(queries), strict=True):
        # questions in turn: what is kept of one must never answer for another
        for query in (first, second, first):
            expected = corpus.scores(query)
            assert np.array_equal(corpus.scores_of(query, rows), expected[rows]), query
            top_rows, top_scores = corpus.top(query, 5)
            assert np.array_equal(top_scores, expected[top_rows]), query


def test_a_saved_index_searches_alike(
    corpus: Bm25, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.postings, "SCORE_ALL_MAX", 0)
    corpus.save(tmp_path)
    loaded = Bm25.load(tmp_path)
    for query in _queries(np.random.default_rng(5)):
        built, read = corpus.top(query, 50), loaded.top(query, 50)
        assert np.array_equal(built[0], read[0]) and np.array_equal(built[1], read[1]), query


def test_nothing_matched_gives_nothing() -> None:
    for bm25 in (Bm25([]), Bm25(["stem cell transplants", "relapses"])):
        for query in ("", "what does how", "zzz"):
            rows, scores = bm25.top(query, 10)
            assert rows.size == scores.size == 0
    assert Bm25([]).scores_of("stem", np.array([], dtype=np.int64)).size == 0
    assert Bm25(["stem cell"]).top("stem", 0)[0].size == 0


def test_columns_must_list_their_rows_in_order() -> None:
    # three columns over five rows: [0, 3], [] and [1, 2, 4]
    indptr = np.array([0, 2, 2, 5])
    assert columns_sorted(np.array([0, 3, 1, 2, 4]), indptr)
    assert not columns_sorted(np.array([3, 0, 1, 2, 4]), indptr)
    assert not columns_sorted(np.array([0, 3, 1, 4, 2]), indptr)
    assert not columns_sorted(np.array([0, 3, 1, 1, 4]), indptr)  # a row twice
    assert columns_sorted(np.array([], dtype=np.int32), np.array([0, 0]))


def test_a_question_of_rare_and_common_words_is_scored_without_the_common_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a word in every text cannot lift any of them past those holding the rare word: its
    # column is looked up for the few candidates, not added whole
    texts = [f"common filler{i}" for i in range(5000)] + ["common rare"] * 3
    bm25 = Bm25(texts)
    monkeypatch.setattr(bot.postings, "SCORE_ALL_MAX", 0)
    added: list[int] = []
    real = Postings._add_column

    def counted(self: Postings, acc: Any, word: int, weight: float) -> Any:
        rows = real(self, acc, word, weight)
        added.append(len(rows))
        return rows

    monkeypatch.setattr(Postings, "_add_column", counted)
    rows, scores = bm25.top("rare common", 2)
    assert rows.tolist() == [5000, 5001]
    assert scores.tolist() == bm25.scores("rare common")[[5000, 5001]].tolist()
    assert added == [3]  # the rare word's column, never the common word's 5003 rows


def test_a_text_outside_the_columns_added_that_ties_the_kth_still_wins_on_its_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "alpha" and "beta" score alike: after adding one word's column, the other's texts can
    # still tie the best score, and the tie goes to the lower row, which only they hold
    monkeypatch.setattr(bot.postings, "SCORE_ALL_MAX", 0)
    bm25 = Bm25(["beta", "beta", "alpha", "alpha", "gamma"])
    for k in (1, 2, 3, 4):
        rows, _ = bm25.top("alpha beta", k)
        assert rows.tolist() == [0, 1, 2, 3][:k]


def test_the_kth_from_a_floor_is_the_kth_of_all_or_the_floor() -> None:
    # only values at or above the floor are partitioned: the k-th must be the same as over
    # all of them whenever it reaches the floor, and the floor otherwise (ties included)
    rng = np.random.default_rng(11)
    for _ in range(500):
        values = rng.integers(0, 6, int(rng.integers(1, 40))).astype(np.float32) / 2
        k = int(rng.integers(1, len(values) + 1))
        floor = float(rng.choice([0.0, *values.tolist(), 1.25, 9.0]))
        kth = float(np.sort(values)[::-1][k - 1])
        assert bot.postings._kth_from(values, k, floor) == max(floor, kth)
