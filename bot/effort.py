"""How much search effort a vector index needs: the least effort (a graph's efSearch, the rows
another index's search puts forward) whose recall@10 against exact search, measured on
query-like probe points, reaches RECALL_TARGET. Pure measurement over any index with a
``search``; the indexes themselves are :mod:`bot.vectors`'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.embed import Vectors

if TYPE_CHECKING:
    from bot.vectors import Rows, VectorIndex

#: The recall@10 against exact search an approximate search must reach, measured on
#: RECALL_PROBES query-like points (see probe_queries).
RECALL_TARGET = 0.95
RECALL_PROBES = 200


def recall_at(index: VectorIndex, queries: Vectors, truth: Rows) -> float:
    """Mean share of the true top-k rows that ``index`` also returns in its top k."""
    k = truth.shape[1]
    _, found = index.search(queries, k)
    shared = [len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(shared)) / k if shared else 1.0


def probe_queries(vectors: Vectors, count: int, seed: int = 0) -> Vectors:
    """Query-like points near the corpus but not in it: normalised midpoints of random pairs."""
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, len(vectors), size=(count, 2))
    mixed = vectors[pairs[:, 0]] + vectors[pairs[:, 1]]
    norms = np.linalg.norm(mixed, axis=1, keepdims=True)
    return np.asarray(mixed / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def least_effort(
    fewest: int, most: int, recall_of: Callable[[int], float], min_gain: float | None = None
) -> tuple[int, float]:
    """The least effort (a graph's efSearch, rows put forward …) whose recall, rounded to four
    places, reaches RECALL_TARGET, and that recall: doubling from ``fewest``, then bisecting
    between the last effort short of the target and the first to reach it, to within an
    eighth of the latter (at a million synthetic passages, efSearch 384 reached 0.951 where
    doubling gave 512: a search at 384 took 28 % less time; a few more recall measurements at
    build).
    Short of the target it stops at ``most``, or, given ``min_gain``, as soon as a doubling
    gains less than that (keeping the effort before, which costs less to search).

    Decided on the rounded value, the one recorded, so a manifest never reads as meeting a
    missed target; a gain is rounded too (0.813 - 0.803 is just under 0.01 in floating point).
    """
    short: int | None = None  # the last effort short of the target, once one was passed
    effort, recall = fewest, round(recall_of(fewest), 4)
    while recall < RECALL_TARGET and effort < most:
        more = min(2 * effort, most)
        better = round(recall_of(more), 4)
        gained = round(better - recall, 4)
        if better < RECALL_TARGET and min_gain is not None and gained < min_gain:
            break
        short, effort, recall = effort, more, better
    if short is None or recall < RECALL_TARGET:
        return effort, recall
    while effort - short > max(1, effort // 8):  # neighbours cannot be bisected
        middle = (short + effort) // 2
        reached = round(recall_of(middle), 4)
        if reached >= RECALL_TARGET:
            effort, recall = middle, reached
        else:
            short = middle
    return effort, recall


def short_of_recall(spec: dict[str, Any]) -> bool:
    """Whether an index spec records a recall@10 (an HNSW graph's, or that of vectors found
    through another index) that missed RECALL_TARGET."""
    return float(spec.get("recall_at_10", 1.0)) < RECALL_TARGET
