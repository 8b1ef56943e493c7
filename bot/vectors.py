"""Vector search over one unit kind's normalised vectors: exact (flat) for small corpora, an HNSW
graph for large ones, with the graph's search effort chosen by measured recall
(:mod:`bot.effort`). The only module that imports faiss.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from bot.effort import RECALL_PROBES, least_effort, probe_queries, recall_at
from bot.embed import Vectors
from bot.pagecache import prefetch

#: Up to this many vectors a unit kind is searched exactly (flat); above it through an HNSW
#: graph. Exact search is linear in the corpus: ``faqbot scale`` measures both.
EXACT_MAX = 20_000
#: HNSW graph degree and build effort (faiss's default effort is 40; 80 gives a better graph).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
#: An HNSW graph walks 8-bit codes of the vectors (a quarter of their bytes; faiss's scalar
#: quantiser, one range a dimension), and the rows it finds are scored again exactly from the full
#: vectors kept beside them, REFINE_EXTRA more rows than asked for. Walking a graph is mostly
#: waiting on memory: at a million synthetic passages, efSearch 512, one query took 3.87 ms
#: against 6.77 ms over the full vectors (recall@10 0.9725 against 0.9715), and the graph built
#: in 480 s against 659 s (measured 2026-12-07; docs/performance.md, *How search scales*).
HNSW_CODES = "sq8"
#: At 200 000 synthetic vectors, ten rows found from the codes alone had recall@10 0.9885, ten
#: re-scored out of twenty 0.999, as many as the full vectors' graph (0.9995).
REFINE_EXTRA = 10
#: A graph asked for at least 1/WALK_SHARE_MAX of its rows is searched exactly instead: a walk
#: as long as the rows asked (see VectorIndex._walk) then costs more than reading every vector.
#: One query, p50: at 25 000 synthetic passages, 1 000 rows took 2.2-2.6 ms walking against
#: 3.5-4.4 ms exactly, 5 000 rows 12.4-13.9 against 5.4-5.7, all of them 142 against 8.3-8.7;
#: at 200 000, 1 600 rows 8.3-8.4 against 27.5-28.5 ms, 8 000 rows 43.3-43.5 against 33.8-34.4.
WALK_SHARE_MAX = 32
#: Search effort starts here and doubles (up to EF_SEARCH_MAX) until recall@10 against exact
#: search reaches RECALL_TARGET on RECALL_PROBES query-like points, then is bisected back
#: between the last effort short of it and the first to reach it (bot.effort.least_effort).
HNSW_EF_SEARCH = 32
EF_SEARCH_MAX = 1024
#: Vectors found through another index's search (the spans through the passages') have that
#: search put forward twice as many rows only while doing so finds at least this much more of
#: their ten closest, or reaches RECALL_TARGET (bot.vectors.through_candidates). At 200 000
#: synthetic passages the build puts forward 1 000 (probe recall 0.95), and the whole search
#: finds 0.987 of its exact ten best at 11.0 ms p50, against 0.979 at 4.2 ms with 200; at a
#: million it keeps 200 (0.7535): the graph's effort, 416, already walks past the 410 rows of
#: a doubling (docs/performance.md, *Since 2026-12-08 a graph asked for more rows than its
#: effort walks as many*; at efSearch 384 one would gain 0.02).
THROUGH_MIN_GAIN = 0.01
Scores = npt.NDArray[np.float32]
Rows = npt.NDArray[np.int64]


class VectorIndexError(Exception):
    """A vector index file is not of the type its manifest says."""


class VectorIndex:
    """Inner-product search over one unit kind's normalised vectors, exact or through HNSW.

    ``spec`` says which (see :func:`plan_index`); it is recorded in the manifest.
    """

    def __init__(self, index: Any, spec: dict[str, Any], owner: Any = None) -> None:
        self._index = index
        self.spec = spec
        self._owner = owner  # what holds the memory ``index`` searches, when not itself
        self._refined = spec.get("codes") == HNSW_CODES  # see HNSW_CODES
        # a graph's search effort, passed with each search (see _walk), never set on the
        # graph itself: the build's measurements search one graph at several efforts
        self._effort = int(spec["ef_search"]) if spec["type"] == "hnsw" else 0

    @property
    def ntotal(self) -> int:
        """How many vectors the index holds."""
        return int(self._index.ntotal)

    @property
    def searched(self) -> bool:
        """Whether the index is meant to be searched, not only scored by row (see
        :func:`plan_index`)."""
        return bool(self.spec.get("searched", True))

    @property
    def dimension(self) -> int:
        """The length of each vector."""
        return int(self._index.d)

    def search(self, queries: Vectors, k: int) -> tuple[Scores, Rows]:
        """The top-k rows and inner products for each query row (rows -1 where none).

        The inner products are exact whatever the index: a graph over codes has its rows
        scored again from the full vectors. A graph walks at least as many candidates as the
        rows it is asked for (:meth:`_walk`), and is searched exactly when those are a large
        share of it (WALK_SHARE_MAX)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        # one query is one pass, yet faiss opens an OpenMP team for it (a flat search above
        # ~5 000 vectors, the re-scoring of a graph's rows) and the team's second thread
        # spins on the other core. On this 2-core machine a flat search of 20 000 took
        # 2.2-2.9 ms (4.6-5.9 ms of CPU) in a team against 0.9-1.1 on one thread; a million
        # passages' re-scored graph search 11.5 ms of CPU for 5.8. A server's questions run
        # side by side anyway; a build's batches of probes keep every thread. (Measured on 2
        # cores only: on many, a lone exact search of a large share might gain from a team.)
        with _one_thread() if len(queries) == 1 else nullcontext():
            return self._search(queries, k)

    def _search(self, queries: Vectors, k: int) -> tuple[Scores, Rows]:
        """:meth:`search` on the threads it is given."""
        if self.spec["type"] != "hnsw" or k <= 0:
            scores, rows = self._index.search(queries, k)
            return scores, rows
        if (k + REFINE_EXTRA) * WALK_SHARE_MAX >= self.ntotal:  # the FAQ's every phrasing
            scores, rows = self._flat.search(queries, k)
            return scores, rows
        if not self._refined:  # a graph over full vectors, indexed before the codes
            scores, rows = self._index.search(queries, k, params=self._walk(k))
            return scores, rows
        # faiss asks the graph for int(k * k_factor) rows: the half keeps rounding off that
        wider = faiss.IndexRefineSearchParameters()
        wider.k_factor = (k + REFINE_EXTRA + 0.5) / k
        walk = self._walk(k + REFINE_EXTRA)  # held while searched, whatever faiss's wrapper keeps
        wider.base_index_params = walk
        scores, rows = self._index.search(queries, k, params=wider)
        return scores, rows

    def _walk(self, rows: int) -> Any:
        """The graph's search parameters for ``rows`` rows: its efSearch, or ``rows`` if more.

        faiss stops its walk by efSearch however many rows are asked for (its issue 1244,
        "wontfix") and fills the rest with whatever it passed on the way: at 200 000
        synthetic passages, efSearch 112, a search of 200 rows held 0.558 of the exact 200
        best, 0.617 walking 210 (hnswlib never walks fewer than it is asked for)."""
        walk = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # not in faiss's stubs
        walk.efSearch = max(self._effort, rows)
        return walk

    def vectors(self, rows: Sequence[int]) -> Vectors:
        """The stored vectors of ``rows``, in order (exact: every index type keeps full vectors)."""
        if not len(rows):
            return np.zeros((0, self.dimension), dtype=np.float32)
        found = self._flat.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        return np.asarray(found, dtype=np.float32)

    def score(self, query: Vectors, rows: Rows) -> Scores:
        """The inner product of one query vector with each of ``rows``, in order.

        Computed by faiss where the vectors are stored, with no copy: what the exact search
        computes for one query, bit for bit, and at 10 000 rows about 2 ms against 7-9 ms
        fetching them and taking each dot product in numpy."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        # faiss reads whatever it is pointed at: check what it will read first
        if rows.ndim != 1 or query.shape[1] != self.dimension:
            raise ValueError(f"one query of {self.dimension} and a list of rows, got {rows.shape}")
        scores = np.empty(len(rows), dtype=np.float32)
        if not len(rows):
            return scores
        if rows.min() < 0 or rows.max() >= self.ntotal:
            raise IndexError(f"rows outside 0..{self.ntotal - 1}")
        with _one_thread():
            self._flat.compute_distance_subset(
                1, faiss.swig_ptr(query), len(rows), faiss.swig_ptr(scores), faiss.swig_ptr(rows)
            )
        return scores

    @cached_property
    def _flat(self) -> Any:
        """The faiss flat index holding the vectors (found once: scores are asked for on
        every question)."""
        return self.exact()._index

    def exact(self) -> VectorIndex:
        """The same vectors searched exactly: itself when flat and searched; otherwise a flat
        view of the vectors it stores (no copy: the view keeps this index, which owns them,
        alive). What an approximate search's results are measured against."""
        if self.spec["type"] == "flat":
            return self if self.searched else VectorIndex(self._index, {"type": "flat"}, self)
        full = self._index.refine_index if self._refined else self._index.storage
        return VectorIndex(faiss.downcast_index(full), {"type": "flat"}, self)

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        faiss.write_index(self._index, str(path))

    @classmethod
    def read(cls, path: Path, spec: dict[str, Any]) -> VectorIndex:
        """Read an index written by :meth:`save`; it must be of the type ``spec`` names.

        The file is memory-mapped, not copied: the vectors and the graph are most of an index's
        size (1.1 GB at 600 000 spans), so mapping makes loading that take 0.02 s instead of
        1-3 s, and ``serve --workers N`` processes share one copy in the page cache. A build
        never rewrites a published file (it publishes a new folder), and a deleted file stays
        readable while mapped; a file edited in place under a running server could crash it.

        An HNSW file is asked for whole first (:func:`bot.pagecache.prefetch`): faiss copies
        its graph out of the mapping, and every search walks its vectors.
        """
        if spec.get("type") == "hnsw":
            prefetch(path)
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        if _kind_of(index) != _kind_of_spec(spec):
            raise VectorIndexError(f"{path} is a {type(index).__name__}, the manifest says {spec}")
        return cls(index, spec)


def _kind_of(index: Any) -> tuple[type, ...]:
    """The faiss types an index read from a file is made of (a refined graph: two)."""
    if isinstance(index, faiss.IndexRefineFlat):
        return (type(index), type(faiss.downcast_index(index.base_index)))
    return (type(index),)


def _kind_of_spec(spec: dict[str, Any]) -> tuple[type, ...] | None:
    """The faiss types an index of ``spec`` is made of (an HNSW graph indexed before its
    codes, over full vectors, is still read); None for a spec of no known type."""
    if spec.get("type") == "flat":
        return (faiss.IndexFlatIP,)
    if spec.get("type") != "hnsw":
        return None
    if spec.get("codes") == HNSW_CODES:
        return (faiss.IndexRefineFlat, faiss.IndexHNSWSQ)
    return (faiss.IndexHNSWFlat,) if "codes" not in spec else None


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run the faiss calls made inside on one OpenMP thread, then restore this thread's count.

    Scoring rows for one query is one loop pass, yet faiss opens an OpenMP team for it, and
    the team's idle worker then spins for milliseconds on the other core: beside the passage
    search in its own thread (bot.retrieve) it took a whole search at a million synthetic
    passages from 9.3-10.1 to 13.2-13.7 ms at p50, and from 16-17 to 25 ms of CPU a question.
    OpenMP keeps the count per thread, so builds and other threads keep theirs.
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def plan_index(count: int, exact_max: int = EXACT_MAX, searched: bool = True) -> dict[str, Any]:
    """Which index ``count`` vectors get: exact (flat) up to ``exact_max``, HNSW above.

    Vectors that are not ``searched`` above ``exact_max`` (those only scored by row: the
    spans', whose candidates then come from the passages' search, see
    :class:`bot.retrieve.Retriever`) are kept flat, with no graph: ``{"searched": False}``.
    """
    if count <= exact_max:
        return {"type": "flat"}
    if not searched:
        return {"type": "flat", "searched": False}
    return {
        "type": "hnsw",
        "M": HNSW_M,
        "ef_construction": HNSW_EF_CONSTRUCTION,
        "codes": HNSW_CODES,
    }


def exact_neighbours(vectors: Vectors, queries: Vectors, k: int) -> Rows:
    """The true top-k rows of ``vectors`` for each query, by brute force (no index kept)."""
    _, rows = faiss.knn(
        np.ascontiguousarray(queries, dtype=np.float32),
        np.ascontiguousarray(vectors, dtype=np.float32),
        k,
        metric=faiss.METRIC_INNER_PRODUCT,
    )
    return np.asarray(rows, dtype=np.int64)


def build_vector_index(
    vectors: Vectors, exact_max: int = EXACT_MAX, searched: bool = True
) -> VectorIndex:
    """Index ``vectors`` as :func:`plan_index` says. For HNSW the search effort is chosen by
    measurement: the least effort (:func:`bot.effort.least_effort`, from HNSW_EF_SEARCH) whose
    recall@10 against exact search, on RECALL_PROBES query-like points, reaches RECALL_TARGET;
    the spec records both. The graph walks 8-bit codes and its rows are scored again exactly (see
    HNSW_CODES).

    A graph still short of the target at EF_SEARCH_MAX is kept at that effort, its recall
    recorded (``faqbot build`` warns; see :func:`bot.effort.short_of_recall`). Falling back to exact
    search was tried and rejected: on a synthetic 100 000-passage knowledge base with
    bag-of-words vectors, the graphs reached 0.93 (passages) and 0.86 (300 000 spans), and a
    question's whole search took 8.6 ms at p50 through them against 39 ms searching exactly,
    a gap that grows with the corpus (exact search: about 0.3 s a million vectors here).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    spec = plan_index(len(vectors), exact_max, searched)
    if spec["type"] == "flat":
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        return VectorIndex(flat, spec)
    # the graph over 8-bit codes (SQ8), the full vectors beside it (RFlat): see HNSW_CODES
    graph: Any = faiss.index_factory(
        vectors.shape[1], f"HNSW{HNSW_M},SQ8,RFlat", faiss.METRIC_INNER_PRODUCT
    )
    codes: Any = faiss.downcast_index(graph.base_index)
    codes.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.train(vectors)  # each dimension's range, for its codes
    graph.add(vectors)
    queries = probe_queries(vectors, RECALL_PROBES)
    truth = exact_neighbours(vectors, queries, min(10, len(vectors)))
    ef, recall = least_effort(
        HNSW_EF_SEARCH,
        EF_SEARCH_MAX,
        lambda ef: recall_at(VectorIndex(graph, spec | {"ef_search": ef}), queries, truth),
    )
    return VectorIndex(graph, spec | {"ef_search": ef, "recall_at_10": recall})


def through_candidates(
    outer: VectorIndex, vectors: Vectors, owners: Rows, fewest: int, most: int
) -> tuple[int, float]:
    """How many rows ``outer``'s search must put forward for ``vectors``, found only through
    it, to reach RECALL_TARGET, and the recall@10 that gives. The count doubles from
    ``fewest`` until it does, then is bisected back (:func:`bot.effort.least_effort`); short
    of it, it stops at ``most``, or as soon as a doubling gains less than THROUGH_MIN_GAIN
    (keeping the count before, which costs less to search).

    Recall@10 here is, on RECALL_PROBES query-like points among ``vectors``, the mean share of
    their exact ten best rows whose owner (``owners[row]``, a row of ``outer``) is among the
    rows put forward. It is what a question's span candidates keep when they are the spans of
    the passages found (:meth:`bot.retrieve.Retriever._span_candidates`): all of a found
    passage's spans are scored exactly, so a best span whose passage is found is always among
    them."""
    queries = probe_queries(vectors, RECALL_PROBES)
    truth = owners[exact_neighbours(vectors, queries, min(10, len(vectors)))]

    def recall_with(count: int) -> float:
        _, found = outer.search(queries, count)
        shared = [np.isin(t, f).sum() for f, t in zip(found, truth, strict=True)]
        return float(np.mean(shared)) / truth.shape[1] if shared else 1.0

    return least_effort(fewest, most, recall_with, THROUGH_MIN_GAIN)
