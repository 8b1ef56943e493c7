"""Scale benchmark: the vector index and BM25 over synthetic knowledge bases of any size.

``faqbot scale --size 100000 --size 1000000`` builds, for each size, what ``faqbot build`` would
build for a corpus that large (:func:`bot.vectors.build_vector_index`, which picks exact search
or HNSW by size, and :class:`bot.lexical.Bm25`) and measures it against exact search.

The data are synthetic, and say so:

- *vectors*: ``size / 100`` random cluster centres; each vector is ``0.6 ×`` a centre plus unit
  Gaussian noise, normalised (384 dimensions, like all-MiniLM-L6-v2). Queries are fresh draws
  from the same mixture, so none is in the corpus. Neighbours within a cluster are only weakly
  closer than strangers, which makes this harder for an approximate index than tidy clusters.
- *texts*: 25 words each, drawn from a 50 000-word vocabulary with Zipf-like frequencies (a
  few words everywhere, most rare), as in real text; queries are 6 words drawn the same way.

*memory* is, for a vector index, how much resident memory grew while it was built (the index;
the generated vectors are held apart), and for BM25 the size of its sparse score matrix.

Not part of ``make test``: a million passages take minutes to index on two cores.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.lexical import Bm25
from bot.retrieve import CANDIDATES
from bot.vectors import EXACT_MAX, build_vector_index, exact_neighbours, recall_at

DIMENSION = 384
VOCABULARY = 50_000
WORDS_PER_TEXT = 25
WORDS_PER_QUERY = 6


@dataclass
class Row:
    """One line of the result table."""

    size: int
    what: str
    build_s: float
    memory_mb: float
    recall_at_10: float | None
    p50_ms: float
    p95_ms: float
    note: str = ""


def _rss_mb() -> float:
    """Resident memory of this process now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def _stage(message: str) -> Iterator[None]:
    """Say what is running and, after, how long it took (long stages take minutes)."""
    print(f"{message} …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def synthetic_vectors(
    count: int, rng: np.random.Generator, centres: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``count`` normalised vectors from the cluster mixture described in the module doc."""
    out = np.empty((count, centres.shape[1]), dtype=np.float32)
    for start in range(0, count, 100_000):  # in chunks: the noise is as large as the result
        end = min(count, start + 100_000)
        chunk = 0.6 * centres[rng.integers(0, len(centres), end - start)]
        chunk += rng.standard_normal(chunk.shape, dtype=np.float32)
        out[start:end] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def synthetic_texts(count: int, words: int, rng: np.random.Generator) -> list[str]:
    """``count`` texts of ``words`` words with Zipf-like word frequencies."""
    weights = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.1
    ids = rng.choice(VOCABULARY, size=(count, words), p=weights / weights.sum())
    return [" ".join(f"w{i}" for i in row) for row in ids]


def _latencies(run: Callable[[int], object], count: int) -> tuple[float, float]:
    """p50 and p95 milliseconds of ``run(i)`` for i in range(count), after one warm-up."""
    run(0)
    times = []
    for i in range(count):
        started = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return round(statistics.median(ordered), 3), round(ordered[int(0.95 * (count - 1))], 3)


def measure_vectors(size: int, queries: int, exact_max: int, seed: int) -> list[Row]:
    """Exact search and the index ``faqbot build`` would choose, over ``size`` vectors."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, size // 100), DIMENSION)).astype(np.float32)
    with _stage(f"{size:,} synthetic vectors"):
        vectors = synthetic_vectors(size, rng, centres)
        asked = synthetic_vectors(queries, rng, centres)
    with _stage(f"exact top-10 of {queries} queries (the answer key)"):
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
    before = _rss_mb()
    with _stage(f"{what} index over {size:,} vectors"):
        started = time.perf_counter()
        index = build_vector_index(vectors, exact_max)
        built = time.perf_counter() - started
    memory = _rss_mb() - before
    # exact search over a million takes about 0.1 s a query: fewer queries keep the run short
    flat = index.spec["type"] == "flat"
    timed = min(len(asked), 20) if flat and size > 100_000 else len(asked)
    p50, p95 = _latencies(lambda i: index.search(asked[i : i + 1], 10), timed)
    params = {k: v for k, v in index.spec.items() if k != "type"}
    note = index.spec["type"] + (f" {params}" if params else "")
    # exact search is the truth itself: measuring its recall would only repeat the search
    recall = 1.0 if flat else recall_at(index, asked, truth)
    return Row(size, what, round(built, 1), round(memory), recall, p50, p95, note)


def measure_bm25(size: int, queries: int, seed: int) -> Row:
    """BM25 over ``size`` texts: build, memory, and per-question scoring plus candidates."""
    rng = np.random.default_rng(seed)
    with _stage(f"{size:,} synthetic texts"):
        texts = synthetic_texts(size, WORDS_PER_TEXT, rng)
        asked = synthetic_texts(queries, WORDS_PER_QUERY, rng)
    with _stage(f"BM25 over {size:,} texts"):
        started = time.perf_counter()
        bm25 = Bm25(texts)
        built = time.perf_counter() - started
    # the matrix itself: resident memory would also count the texts and tokenizer leftovers
    memory = bm25.matrix_bytes() / 2**20

    def ask(i: int) -> object:
        scores = bm25.scores(asked[i])
        return np.argpartition(-scores, CANDIDATES)[:CANDIDATES]

    p50, p95 = _latencies(ask, queries)
    return Row(
        size,
        "BM25 + top 200",
        round(built, 1),
        round(memory),
        None,
        p50,
        p95,
        "bm25s, sparse; memory: the matrix",
    )


def run_scale(
    sizes: list[int], queries: int = 200, exact_max: int = EXACT_MAX, seed: int = 0
) -> list[Row]:
    """Every measure for every size, smallest first."""
    rows: list[Row] = []
    for size in sorted(sizes):
        rows += measure_vectors(size, queries, exact_max, seed)
        rows.append(measure_bm25(size, queries, seed))
    return rows


def markdown(rows: list[Row]) -> str:
    """The rows as the Markdown table README keeps."""
    lines = [
        "| passages | what | build s | memory MB | recall@10 | p50 ms | p95 ms | index |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        recall = "" if r.recall_at_10 is None else f"{r.recall_at_10:.3f}"
        lines.append(
            f"| {r.size:,} | {r.what} | {r.build_s} | {r.memory_mb:g} | {recall} | "
            f"{r.p50_ms} | {r.p95_ms} | {r.note} |"
        )
    return "\n".join(lines)


def as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as plain dictionaries (for ``--json``)."""
    return [vars(r) for r in rows]
