"""Scale benchmark over synthetic corpora of any size (:mod:`bot.synthetic`): the vector index
and BM25 alone, and with ``whole`` a whole search and its two largest parts alone
(:mod:`bot.scale_search`).

``faqbot scale --size 100000 --size 1000000`` builds, for each size, what ``faqbot build`` would
build for a corpus that large (:func:`bot.vectors.build_vector_index`, which picks exact search
or HNSW by size, and :class:`bot.lexical.Bm25`) and measures it against exact search.

*memory* is, for a vector index, how much resident memory grew while it was built (the index;
the generated vectors are held apart); for BM25 the size of its sparse score matrix.

Not part of ``make test``: a million passages take minutes to index on two cores.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from bot.effort import recall_at
from bot.lexical import Bm25
from bot.retrieve import CANDIDATES
from bot.scale_search import measure_search
from bot.scale_table import Row, describe, latencies, rss_mb, stage
from bot.synthetic import (
    WORDS_PER_QUERY,
    WORDS_PER_TEXT,
    cluster_centres,
    synthetic_texts,
    synthetic_vectors,
)
from bot.vectors import EXACT_MAX, build_vector_index, exact_neighbours


def measure_vectors(size: int, queries: int, exact_max: int, seed: int) -> list[Row]:
    """Exact search and the index ``faqbot build`` would choose, over ``size`` vectors."""
    rng = np.random.default_rng(seed)
    centres = cluster_centres(size, rng)
    with stage(f"{size:,} synthetic vectors"):
        vectors = synthetic_vectors(size, rng, centres)
        asked = synthetic_vectors(queries, rng, centres)
    with stage(f"exact top-10 of {queries} queries (the answer key)"):
        truth = exact_neighbours(vectors, asked, 10)
    return [
        _measure_index(what, vectors, asked, truth, limit)
        for what, limit in (("vectors: exact", size), ("vectors: chosen", exact_max))
    ]


def _measure_index(
    what: str,
    vectors: npt.NDArray[np.float32],
    asked: npt.NDArray[np.float32],
    truth: npt.NDArray[np.int64],
    exact_max: int,
) -> Row:
    size = len(vectors)
    before = rss_mb()
    with stage(f"{what} index over {size:,} vectors"):
        started = time.perf_counter()
        index = build_vector_index(vectors, exact_max)
        built = time.perf_counter() - started
    memory = rss_mb() - before
    # exact search over a million takes about 0.1 s a query: fewer queries keep the run short
    flat = index.spec["type"] == "flat"
    timed = min(len(asked), 20) if flat and size > 100_000 else len(asked)
    p50, p95 = latencies(lambda i: index.search(asked[i : i + 1], 10), timed)
    note = describe(index.spec)
    # exact search is the truth itself: measuring its recall would only repeat the search
    recall = 1.0 if flat else recall_at(index, asked, truth)
    return Row(size, what, round(built, 1), round(memory), recall, p50, p95, note)


def measure_bm25(size: int, queries: int, seed: int) -> Row:
    """BM25 over ``size`` texts: build, memory, and per-question scoring plus candidates."""
    rng = np.random.default_rng(seed)
    with stage(f"{size:,} synthetic texts"):
        texts = synthetic_texts(size, WORDS_PER_TEXT, rng)
        asked = synthetic_texts(queries, WORDS_PER_QUERY, rng)
    with stage(f"BM25 over {size:,} texts"):
        started = time.perf_counter()
        bm25 = Bm25(texts)
        built = time.perf_counter() - started
    # the matrix itself: resident memory would also count the texts and tokenizer leftovers
    memory = bm25.matrix_bytes() / 2**20

    # the retriever's way (pruned), and for the ratio every text scored, then the top 200
    p50, p95 = latencies(lambda i: bm25.top(asked[i], CANDIDATES), queries)
    every, _ = latencies(lambda i: _top_of_all(bm25, asked[i]), queries)
    return Row(
        size,
        "BM25 + top 200",
        round(built, 1),
        round(memory),
        None,
        p50,
        p95,
        f"bm25s, sparse, pruned (every text scored: {every:.2f} ms p50); memory: the matrix",
    )


def _top_of_all(bm25: Bm25, question: str) -> object:
    """The best CANDIDATES texts found by scoring every one (the unpruned way)."""
    scores = bm25.scores(question)
    k = min(CANDIDATES, len(scores))
    return np.argpartition(-scores, k - 1)[:k]


def run_scale(
    sizes: list[int],
    queries: int = 200,
    exact_max: int = EXACT_MAX,
    seed: int = 0,
    whole: bool = False,
) -> list[Row]:
    """Every measure for every size, smallest first; the whole search only when ``whole``."""
    rows: list[Row] = []
    for size in sorted(sizes):
        rows += measure_vectors(size, queries, exact_max, seed)
        rows.append(measure_bm25(size, queries, seed))
        if whole:
            rows += measure_search(size, queries, exact_max=exact_max, seed=seed)
    return rows
