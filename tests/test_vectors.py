import gc
from pathlib import Path

import numpy as np
import pytest

from bot import effort as effort_module
from bot import vectors as vector_module
from bot.effort import RECALL_TARGET, probe_queries, recall_at, short_of_recall
from bot.vectors import (
    EXACT_MAX,
    VectorIndex,
    VectorIndexError,
    build_vector_index,
    exact_neighbours,
    plan_index,
    through_candidates,
)


def _unit_vectors(count: int, dimension: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _graph_before_codes(vectors: np.ndarray) -> object:
    """What an index built before the codes holds: an HNSW graph over the full vectors."""
    faiss = vector_module.faiss
    graph = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    graph.add(vectors)
    return graph


def test_small_kinds_are_searched_exactly_and_large_ones_through_hnsw() -> None:
    assert plan_index(EXACT_MAX) == {"type": "flat"}
    assert plan_index(EXACT_MAX + 1)["type"] == "hnsw"
    assert plan_index(10, exact_max=5)["type"] == "hnsw"
    # vectors only scored by row get no graph: above the threshold they are kept unsearched
    assert plan_index(EXACT_MAX, searched=False) == {"type": "flat"}
    assert plan_index(EXACT_MAX + 1, searched=False) == {"type": "flat", "searched": False}


def test_vectors_not_searched_keep_every_vector_and_their_exact_view_searches() -> None:
    vectors = _unit_vectors(300)
    kept = build_vector_index(vectors, exact_max=100, searched=False)
    assert kept.spec == {"type": "flat", "searched": False} and not kept.searched
    assert np.array_equal(kept.vectors([5, 0, 299]), vectors[[5, 0, 299]])
    view = kept.exact()
    assert view.spec == {"type": "flat"} and view.searched and view is not kept
    queries = probe_queries(vectors, 20, seed=3)
    assert np.array_equal(view.search(queries, 10)[1], exact_neighbours(vectors, queries, 10))


def test_hnsw_effort_is_raised_until_recall_meets_the_target() -> None:
    vectors = _unit_vectors(3000)
    index = build_vector_index(vectors, exact_max=100)
    spec = index.spec
    assert spec["type"] == "hnsw" and spec["M"] == vector_module.HNSW_M
    assert spec["recall_at_10"] >= RECALL_TARGET
    assert vector_module.HNSW_EF_SEARCH <= spec["ef_search"] <= vector_module.EF_SEARCH_MAX
    # the recorded recall is what the index really does on fresh query-like points
    queries = probe_queries(vectors, 100, seed=7)
    truth = exact_neighbours(vectors, queries, 10)
    assert recall_at(index, queries, truth) >= 0.9
    # exact search finds the exact neighbours, whatever the data
    assert recall_at(build_vector_index(vectors), queries, truth) == 1.0


def test_exact_view_searches_a_graphs_own_vectors_by_brute_force() -> None:
    vectors = _unit_vectors(3000)
    graph = build_vector_index(vectors, exact_max=100)
    # a weak search effort, so the graph misses some true neighbours that the view finds
    graph = VectorIndex(graph._index, graph.spec | {"ef_search": 10})
    queries = probe_queries(vectors, 100, seed=3)
    truth = exact_neighbours(vectors, queries, 10)
    view = graph.exact()
    assert view.spec == {"type": "flat"} and view.ntotal == 3000
    assert recall_at(graph, queries, truth) < 1.0
    _, rows = view.search(queries, 10)
    assert np.array_equal(rows, truth)
    flat = build_vector_index(vectors)
    assert flat.exact() is flat


def test_exact_view_outlives_every_other_reference_to_its_graph() -> None:
    vectors = _unit_vectors(3000)
    view = build_vector_index(vectors, exact_max=100).exact()  # the graph itself is let go
    gc.collect()
    _unit_vectors(20_000, seed=1)  # memory reused, were the graph freed
    queries = probe_queries(vectors, 50, seed=3)
    _, rows = view.search(queries, 10)
    assert np.array_equal(rows, exact_neighbours(vectors, queries, 10))


def test_a_graph_short_of_the_recall_target_is_kept_at_the_highest_effort_and_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(effort_module, "RECALL_TARGET", 1.01)  # no graph can reach it
    monkeypatch.setattr(vector_module, "EF_SEARCH_MAX", 2 * vector_module.HNSW_EF_SEARCH)
    index = build_vector_index(_unit_vectors(3000), exact_max=100)
    assert index.spec["type"] == "hnsw"
    assert index.spec["ef_search"] == 2 * vector_module.HNSW_EF_SEARCH
    assert 0 < index.spec["recall_at_10"] < 1.01
    assert short_of_recall(index.spec)


def _owned(owners: int, per_owner: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Owner vectors, and ``per_owner`` vectors around each (owner rows ``i // per_owner``)."""
    outer = _unit_vectors(owners)
    rng = np.random.default_rng(1)
    inner = np.repeat(outer, per_owner, axis=0) + noise * rng.standard_normal(
        (owners * per_owner, outer.shape[1])
    ).astype(np.float32)
    inner /= np.linalg.norm(inner, axis=1, keepdims=True)
    return outer, inner


def test_recall_through_counts_the_best_rows_whose_owner_is_put_forward() -> None:
    outer, inner = _owned(300, 4, 0.3)
    owners = np.repeat(np.arange(300), 4)
    index = build_vector_index(outer)  # flat: its candidates are the exact best owners
    assert through_candidates(index, inner, owners, 300, 300) == (300, 1.0)  # all found
    # a reference count, for few candidates: the share of each probe's ten best inner rows
    # whose owner is among its best five owners
    queries = probe_queries(inner, effort_module.RECALL_PROBES)
    truth = exact_neighbours(inner, queries, 10)
    best = exact_neighbours(outer, queries, 5)
    found = [int(np.isin(owners[t], b).sum()) for t, b in zip(truth, best, strict=True)]
    expected = sum(found) / (10 * len(truth))
    assert 0.2 < expected < 0.9  # few candidates miss some
    assert through_candidates(index, inner, owners, 5, 5) == (5, round(expected, 4))
    wrong = (owners + 150) % 300  # each row owned by an unrelated owner
    assert through_candidates(index, inner, wrong, 5, 5)[1] < 0.1


def test_candidates_double_until_the_recall_target_or_the_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outer, inner = _owned(300, 4, 0.3)
    owners = np.repeat(np.arange(300), 4)
    index = build_vector_index(outer)
    count, recall = through_candidates(index, inner, owners, 5, 300)
    assert 5 < count <= 300 and recall >= RECALL_TARGET
    # within an eighth of the fewest that meet it (more owners put forward never find fewer
    # of the best rows, the outer search being exact)
    before = count - count // 8
    assert through_candidates(index, inner, owners, before, before)[1] < RECALL_TARGET
    # a doubling that reaches the target is kept, however little it gained
    monkeypatch.setattr(vector_module, "THROUGH_MIN_GAIN", 1.0)
    assert through_candidates(index, inner, owners, before, 300)[1] >= RECALL_TARGET
    monkeypatch.undo()
    # unrelated owners never meet it: each doubling gains more than THROUGH_MIN_GAIN (checked
    # here), so the count stops at the most, with its own recall
    wrong = (owners + 150) % 300
    recalls = [through_candidates(index, inner, wrong, c, c)[1] for c in (5, 10, 20, 40)]
    assert min(np.diff(recalls)) >= vector_module.THROUGH_MIN_GAIN and recalls[-1] < 0.5
    assert through_candidates(index, inner, wrong, 5, 40) == (40, recalls[-1])
    # the last doubling stops at the most, not past it
    assert through_candidates(index, inner, wrong, 5, 30)[0] == 30
    # a gain of exactly THROUGH_MIN_GAIN is enough to go on
    monkeypatch.setattr(vector_module, "THROUGH_MIN_GAIN", round(recalls[1] - recalls[0], 4))
    assert through_candidates(index, inner, wrong, 5, 10) == (10, recalls[1])


def test_candidates_stop_doubling_when_a_doubling_gains_little() -> None:
    outer, inner = _owned(300, 4, 0.3)
    outer[299] = -outer[:299].mean(axis=0)  # a row far from every probe
    outer[299] /= np.linalg.norm(outer[299])
    index = build_vector_index(outer)
    far = np.full(len(inner), 299)  # every row owned by it: found only when all 300 are
    assert through_candidates(index, inner, far, 5, 300) == (5, 0.0)  # 10 gain nothing
    assert through_candidates(index, inner, far, 300, 300) == (300, 1.0)


def test_scores_by_row_are_the_searchs_own_bit_for_bit(tmp_path: Path) -> None:
    vectors = _unit_vectors(500)
    query = _unit_vectors(1, seed=3)[0]
    flat, graph = build_vector_index(vectors), build_vector_index(vectors, exact_max=100)
    flat.save(tmp_path / "flat.faiss")
    mapped = VectorIndex.read(tmp_path / "flat.faiss", flat.spec)  # memory-mapped
    for index in (flat, graph, mapped):
        scores, rows = index.search(query.reshape(1, -1), 50)
        assert np.array_equal(index.score(query, rows[0]), scores[0])
        assert np.array_equal(index.score(query, rows[0][::-1]), scores[0][::-1])  # in order
        assert index.score(query, np.zeros(0, dtype=np.int64)).shape == (0,)
        for outside in ([500], [-1], [3, 500]):  # faiss would read outside the vectors
            with pytest.raises(IndexError, match=r"outside 0\.\.499"):
                index.score(query, np.array(outside))
        for query_, rows_ in ((query[:16], [1]), (query, [[1, 2], [3, 4]])):
            with pytest.raises(ValueError, match="one query of 32 and a list of rows"):
                index.score(query_, np.array(rows_))


class _CountingThreads:
    """An index that notes how many OpenMP threads faiss may use whenever ``method`` is called."""

    def __init__(self, inner: object, method: str) -> None:
        self._inner = inner
        self._method = method
        self.threads: list[int] = []

    def __getattr__(self, name: str) -> object:
        found = getattr(self._inner, name)
        if name != self._method:
            return found

        def counted(*args: object, **kwargs: object) -> object:
            self.threads.append(vector_module.faiss.omp_get_max_threads())
            return found(*args, **kwargs)

        return counted


def test_scoring_rows_runs_on_one_thread_and_restores_the_count() -> None:
    # one query's scores in a team of threads left a worker spinning beside the next search
    index = build_vector_index(_unit_vectors(100))
    query, rows = _unit_vectors(1, seed=3)[0], np.arange(0, 100, 7)
    expected = index.score(query, rows)
    counting = _CountingThreads(index._flat, "compute_distance_subset")
    index.__dict__["_flat"] = counting  # the cached flat view, replaced
    omp = vector_module.faiss
    before = omp.omp_get_max_threads()
    omp.omp_set_num_threads(3)  # not 1 already, on any machine
    try:
        assert np.array_equal(index.score(query, rows), expected)
        assert counting.threads == [1]
        assert omp.omp_get_max_threads() == 3  # a build in this thread keeps its threads
    finally:
        omp.omp_set_num_threads(before)


def _searched_by(path: str, vectors: np.ndarray) -> tuple[VectorIndex, str, int]:
    """An index over ``vectors``, the attribute holding what ``path`` searches, and a k that
    takes that path."""
    if path == "flat":
        return build_vector_index(vectors), "_index", 10
    if path == "graph over full vectors":
        spec = {"type": "hnsw", "M": 32, "ef_construction": 40, "ef_search": 16}
        return VectorIndex(_graph_before_codes(vectors), spec), "_index", 10
    graph = build_vector_index(vectors, exact_max=100)
    if path == "graph over codes":
        return graph, "_index", 10
    graph.__dict__["_flat"] = graph._flat  # cached, so that it can be replaced
    return graph, "_flat", len(vectors) // vector_module.WALK_SHARE_MAX  # a large share


@pytest.mark.parametrize(
    "path", ["flat", "graph over full vectors", "graph over codes", "large share exactly"]
)
def test_one_query_runs_on_one_thread_a_batch_on_all(path: str) -> None:
    # faiss opens a team of threads even for one query (a flat search of some thousands of
    # vectors, a graph's re-scoring): its second thread spun on the other core, beside BM25
    # (bot.retrieve), and a flat search of 20 000 took twice as long as on one thread
    vectors = _unit_vectors(3000)
    index, held, k = _searched_by(path, vectors)
    queries = probe_queries(vectors, 5, seed=3)
    expected = index.search(queries, k)
    counting = _CountingThreads(getattr(index, held), "search")
    index.__dict__[held] = counting
    omp = vector_module.faiss
    before = omp.omp_get_max_threads()
    omp.omp_set_num_threads(3)  # not 1 already, on any machine
    try:
        assert np.array_equal(index.search(queries[:1], k)[1], expected[1][:1])
        assert np.array_equal(index.search(queries, k)[1], expected[1])
        assert counting.threads == [1, 3]  # a build's probes are searched by every thread
        assert omp.omp_get_max_threads() == 3
    finally:
        omp.omp_set_num_threads(before)


@pytest.mark.parametrize("exact_max", [EXACT_MAX, 100])
def test_a_saved_index_is_mapped_not_copied_and_answers_as_built(
    tmp_path: Path, exact_max: int
) -> None:
    vectors = _unit_vectors(3000)
    built = build_vector_index(vectors, exact_max=exact_max)
    path = tmp_path / "kind.faiss"
    built.save(path)
    loaded = VectorIndex.read(path, built.spec)
    # mapped: the file's pages are the index's, shared by every process that serves it
    assert str(path) in Path("/proc/self/maps").read_text()
    queries = probe_queries(vectors, 20, seed=3)
    path.unlink()  # a later build removes old folders: a mapped file stays readable
    assert (loaded.search(queries, 10)[1] == built.search(queries, 10)[1]).all()
    assert (loaded.vectors([5, 7]) == vectors[[5, 7]]).all()


@pytest.mark.parametrize("exact_max", [EXACT_MAX, 100])
def test_an_hnsw_file_is_asked_for_whole_before_faiss_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_max: int
) -> None:
    # faiss copies the graph out of its mapping a page fault at a time (seconds from a cold
    # page cache at a million passages); a flat file is all vectors, mapped and read as needed
    built = build_vector_index(_unit_vectors(300), exact_max=exact_max)
    path = tmp_path / "kind.faiss"
    built.save(path)
    asked: list[Path] = []
    monkeypatch.setattr(vector_module, "prefetch", asked.append)
    loaded = VectorIndex.read(path, built.spec)
    assert asked == ([path] if built.spec["type"] == "hnsw" else [])
    assert loaded.ntotal == 300


def test_a_graph_walks_8_bit_codes_and_scores_what_it_finds_again_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vectors = _unit_vectors(3000)
    built = build_vector_index(vectors, exact_max=100)
    assert built.spec["codes"] == vector_module.HNSW_CODES == "sq8"
    # a weak effort, so that the codes' order and the exact one often differ
    graph = VectorIndex(built._index, built.spec | {"ef_search": 16})
    queries = probe_queries(vectors, 100, seed=3)
    scores, rows = graph.search(queries, 10)
    view = graph.exact()
    for query, found, scored in zip(queries, rows, scores, strict=True):
        assert np.array_equal(scored, view.score(query, found))  # exact inner products
        assert (np.diff(scored) <= 0).all()
    # the graph is asked for REFINE_EXTRA more rows than wanted, the best of them kept: the
    # same ten as the best of twenty asked for with nothing extra
    monkeypatch.setattr(vector_module, "REFINE_EXTRA", 0)
    _, twenty = graph.search(queries, 10 + 10)
    assert np.array_equal(rows, twenty[:, :10])
    _, alone = graph.search(queries, 10)
    assert not np.array_equal(rows, alone)  # what the extra rows are for
    assert recall_at(built, queries, exact_neighbours(vectors, queries, 10)) >= 0.9


def test_a_graph_asked_for_more_rows_than_its_effort_walks_as_many() -> None:
    # faiss stops its walk at efSearch whatever k is and pads the rows with what it passed:
    # with efSearch 16, 200 rows held 0.67 of the exact 200 best (0.73 over full vectors)
    vectors = _unit_vectors(8000)  # 200 rows are under 1/WALK_SHARE_MAX of it: walked
    full = _graph_before_codes(vectors)
    spec = {"type": "hnsw", "M": 32, "ef_construction": 40, "recall_at_10": 0.99}
    built = build_vector_index(vectors, exact_max=100)
    queries = probe_queries(vectors, 50, seed=3)
    truth = exact_neighbours(vectors, queries, 200)
    # the rows asked of each graph: the codes' graph is asked for REFINE_EXTRA more
    for index, kind, asked in ((built._index, built.spec, 210), (full, spec, 200)):
        weak = VectorIndex(index, kind | {"ef_search": 16})
        _, rows = weak.search(queries, 200)
        _, wide = VectorIndex(index, kind | {"ef_search": asked}).search(queries, 200)
        assert np.array_equal(rows, wide)
        shared = [len(set(found) & set(best)) for found, best in zip(rows, truth, strict=True)]
        assert np.mean(shared) / 200 >= 0.99
        # ten rows: a walk as long as its effort (or the 20 rows asked of it), not widened more
        _, ten = weak.search(queries, 10)
        assert not np.array_equal(ten, wide[:, :10])


def test_a_graph_asked_for_a_large_share_of_its_rows_is_searched_exactly() -> None:
    # walking that many costs more than reading every vector (the FAQ asks for every phrasing)
    vectors = _unit_vectors(3000)
    index = build_vector_index(vectors, exact_max=100)
    queries = probe_queries(vectors, 5, seed=3)
    counting = _CountingThreads(index._index, "search")
    index._index = counting
    share = 3000 // vector_module.WALK_SHARE_MAX - vector_module.REFINE_EXTRA
    _, rows = index.search(queries, share + 1)
    assert np.array_equal(rows, exact_neighbours(vectors, queries, share + 1))
    assert counting.threads == []  # the graph was not walked
    index.search(queries, share - 1)
    assert len(counting.threads) == 1  # a smaller share is walked


def test_a_graph_over_full_vectors_indexed_before_the_codes_is_still_read(tmp_path: Path) -> None:
    vectors = _unit_vectors(3000)
    path = tmp_path / "old.faiss"
    vector_module.faiss.write_index(_graph_before_codes(vectors), str(path))
    spec = {"type": "hnsw", "M": 32, "ef_construction": 40, "ef_search": 64, "recall_at_10": 0.99}
    loaded = VectorIndex.read(path, spec)
    queries = probe_queries(vectors, 50, seed=3)
    assert recall_at(loaded, queries, exact_neighbours(vectors, queries, 10)) >= 0.9
    assert np.array_equal(loaded.vectors([5, 7]), vectors[[5, 7]])
    assert np.array_equal(
        loaded.exact().search(queries, 10)[1], exact_neighbours(vectors, queries, 10)
    )
    # a spec and a file that disagree about the codes are refused, either way round
    with pytest.raises(VectorIndexError, match="IndexHNSWFlat"):
        VectorIndex.read(path, spec | {"codes": "sq8"})
    new = tmp_path / "new.faiss"
    build_vector_index(vectors, exact_max=100).save(new)
    with pytest.raises(VectorIndexError, match="IndexRefineFlat"):
        VectorIndex.read(new, spec)
    with pytest.raises(VectorIndexError):
        VectorIndex.read(new, spec | {"codes": "pq"})
    with pytest.raises(VectorIndexError):
        VectorIndex.read(new, {"type": "flat"})
