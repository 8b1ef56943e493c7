"""The best BM25 scores of a question without scoring every text: exact top-k by pruning.

A BM25 index (bm25s's) keeps one *column* per word: the rows of the texts holding it, in
ascending order, and the word's score in each. Scoring a question adds its words' columns
up over every text. At four million spans a common word's column holds nearly all of them,
and scoring plus the top 200 took 72 ms a question; yet the retriever uses only the top
CANDIDATES texts, the best score and the scores of a few hundred other rows.

:meth:`Postings.top` prunes as MaxScore does (Turtle and Flood, 1995). A word adds at most
its column's largest score (times how often the question has it) to any text. Words are
taken highest bound first and their columns added up; once the bounds of the words left
sum to less than the k-th best score so far, no text outside the columns added can reach the
top k, so the words left are only looked up (binary search in the column) for the texts that
still can (found among the added columns' rows, or by reading every sum when those columns
are long), and texts are dropped as the bound left falls. A column is added whole instead
when that is cheaper than looking each text up in it. Each new k-th best score is found among
the texts at or above the last one only: scores only grow, so the k texts that set it are
still among them.

The result is exact: the texts kept are scored at the end as bm25s scores them (float32, the
question's words in order), so the scores are bit-identical to scoring every text, and ties
are broken by row. Partial sums, made in another order, may differ from those in the last
bits, so every pruning comparison allows for that (see :func:`_slack`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]
#: Adding a column whole costs about as much as looking this many of its rows up one by one
#: (measured at a million synthetic texts: 4 and 16 alike at p50, 16 better at p95).
LOOKUP_COST = 16
#: Relative error allowed in every pruning comparison, beyond what the sums' length allows
#: (see :func:`_slack`).
SLACK = 1e-5
#: Up to this many texts every one is scored: pruning costs more than it saves (measured on
#: synthetic texts: at 5 000, 0.15 ms against 0.29; at 20 000, 0.38 against 0.41; at 50 000,
#: 0.94 against 0.70).
SCORE_ALL_MAX = 20_000
#: The rows that may still reach the top k are looked for among the added columns' rows
#: while those are under 1/SCAN_SHARE of the texts; above that, by reading every text's sum
#: (at four million synthetic texts 16 did best of 3, 8, 16, 32 and 64; the top 200 took 5.3-5.4
#: ms p50 against 6.3 always reading every sum, and p95 18 with 3 against 14-15 with 16).
SCAN_SHARE = 16


class Postings:
    """A word-by-text score matrix in compressed columns (``data``, ``indices``, ``indptr``
    as bm25s keeps them; each column's rows ascending) over ``size`` texts."""

    def __init__(
        self,
        data: npt.NDArray[np.float32],
        indices: npt.NDArray[np.integer],
        indptr: npt.NDArray[np.integer],
        size: int,
    ) -> None:
        self._data = data
        self._indices = indices
        self._indptr = indptr
        self._size = size
        self._bounds: dict[int, float] = {}  # word → its column's largest score, when asked

    def __len__(self) -> int:
        return self._size

    def ask(self, terms: Sequence[int]) -> Asked:
        """One question's scores, by its word ids (repeats count again, as in bm25s)."""
        return Asked(self, list(terms))

    def top(self, terms: Sequence[int], k: int) -> tuple[Rows, Scores]:
        """The (at most) ``k`` best-scoring rows for a question's word ids, best first,
        ties by row; only rows the question matches. Pruned, whatever the index's size."""
        if not len(terms) or k <= 0:
            return _NONE
        words, counts = np.unique(np.asarray(terms, dtype=np.int64), return_counts=True)
        bounds = counts * np.array([self._bound(int(w)) for w in words])
        order = np.argsort(-bounds, kind="stable")
        words, bounds = words[order].tolist(), bounds[order]
        weights = counts[order].astype(float).tolist()
        left = (bounds[::-1].cumsum()[::-1] - bounds).tolist()  # bound of the words after each
        acc = np.zeros(self._size, dtype=np.float32)
        slack = _slack(len(terms))
        added, floor = self._add_columns(acc, words, weights, left, k, slack)
        tiny = float(np.finfo(np.float32).tiny)  # above it: rows some column added to
        rows = self._reaching(acc, words[:added], max(_within(floor, left[added - 1], slack), tiny))
        for at in range(added, len(words)):
            self._add_word(acc, rows, words[at], weights[at])
            if len(rows) > k:
                values = acc[rows]
                floor = _kth_from(values, k, floor)
                rows = rows[values >= _within(floor, left[at], slack)]
        if len(rows) > k:  # only near-ties with the k-th can still change places when rescored
            values = acc[rows]
            rows = rows[values >= _within(_kth_from(values, k, floor), 0.0, slack)]
        return best(rows, self.scores_of(terms, rows), k)

    def scores_of_all(self, terms: Sequence[int]) -> Scores:
        """The score of every row, summed as bm25s sums them."""
        scores = np.zeros(self._size, dtype=np.float32)
        for word in terms:  # one float32 add per row and word, in order, as bm25s adds them
            rows, column = self._column(word)
            np.add.at(scores, rows, column)  # on a few rows, faster than scores[rows] += …
        return scores

    def scores_of(self, terms: Sequence[int], rows: Rows) -> Scores:
        """The score of each of ``rows`` (any rows, any order), summed as bm25s sums them,
        each looked up in the words' columns."""
        keys = np.asarray(rows).astype(self._indices.dtype)
        # looked up in ascending order: numpy's binary search then starts where the last one
        # ended and reads each column front to back (about 400 candidates at four million
        # spans: 0.54 against 0.76-0.82 ms a question)
        order = np.argsort(keys, kind="stable")
        ascending = keys[order]
        found = {word: self._lookup(word, ascending) for word in set(terms)}
        scores = np.zeros(len(keys), dtype=np.float32)
        for word in terms:  # in the question's order, in float32: bit-identical to bm25s
            scores += found[word]
        unsorted = np.empty_like(scores)
        unsorted[order] = scores
        return unsorted

    def _add_columns(
        self,
        acc: npt.NDArray[np.float32],
        words: list[int],
        weights: list[float],
        left: list[float],
        k: int,
        slack: float,
    ) -> tuple[int, float]:
        """Add whole columns, highest bound first, until the words left cannot lift a text
        outside them to the k-th best score; how many were added, and that k-th score (0
        while k rows have not been reached)."""
        floor = 0.0
        best = self._indices[:0]  # the k best rows so far (all rows added, until there are k)
        for at, word in enumerate(words):
            rows = self._add_column(acc, word, weights[at])
            # the k-th best of any k distinct rows is a lower bound of the k-th best of all
            pool = np.concatenate([rows, best[self._lookup(word, best) == 0]])
            if len(pool) > k:
                values = acc[pool]
                if floor > 0.0:  # the k best so far are in the pool, still at or above it
                    high = values >= floor
                    pool, values = pool[high], values[high]
                kept = np.argpartition(-values, k)[:k] if len(pool) > k else slice(None)
                best, floor = pool[kept], max(floor, float(values[kept].min()))
            else:
                best = pool
            if left[at] < _within(floor, 0.0, slack):
                return at + 1, floor
        return len(words), floor

    def _reaching(self, acc: npt.NDArray[np.float32], added: list[int], least: float) -> Rows:
        """The rows whose sum in ``acc`` is at least ``least`` (> 0), ascending, when only
        the columns of ``added`` have been added to it: looked for among those columns' rows
        when they are few beside the index's size, else by reading all of ``acc``."""
        columns = [self._column(word)[0] for word in added]
        if sum(len(rows) for rows in columns) * SCAN_SHARE > self._size:
            return np.flatnonzero(acc >= least)
        every = np.concatenate(columns)
        rows: Rows = every[acc[every] >= least].astype(np.int64)
        if len(added) > 1:  # a row in several columns is there once each: keep one
            rows.sort()  # (np.unique took 2.6 ms on 20 000 rows, sorting 0.05)
            rows = rows[np.concatenate([[True], rows[1:] != rows[:-1]])]
        return rows

    def _add_word(self, acc: npt.NDArray[np.float32], rows: Rows, word: int, weight: float) -> None:
        """Add one word's scores to ``acc`` for ``rows``: the whole column when that is
        cheaper than finding each row in it."""
        if len(rows) * LOOKUP_COST > self._indptr[word + 1] - self._indptr[word]:
            self._add_column(acc, word, weight)
        else:
            found = self._lookup(word, rows.astype(self._indices.dtype))
            np.add.at(acc, rows, weight * found)  # rows are distinct: see _add_column

    def _add_column(
        self, acc: npt.NDArray[np.float32], word: int, weight: float
    ) -> npt.NDArray[np.integer]:
        """Add the word's whole column to ``acc``; the column's rows."""
        rows, scores = self._column(word)
        # the rows are distinct, so this is ``acc[rows] += …``, which took twice as long
        # (368 000 rows of four million: 1.03 against 1.97 ms)
        np.add.at(acc, rows, weight * scores)
        return rows

    def _column(self, word: int) -> tuple[npt.NDArray[np.integer], Scores]:
        start, end = int(self._indptr[word]), int(self._indptr[word + 1])
        return self._indices[start:end], self._data[start:end]

    def _lookup(self, word: int, keys: npt.NDArray[np.integer]) -> Scores:
        """The word's score in each row of ``keys`` (0 where absent). ``keys`` must have the
        column's dtype: searchsorted would otherwise convert the whole column each time."""
        column, scores = self._column(word)
        out = np.zeros(len(keys), dtype=np.float32)
        if not len(column) or not len(keys):
            return out
        at = np.minimum(np.searchsorted(column, keys), len(column) - 1)
        hit = column[at] == keys
        out[hit] = scores[at[hit]]
        return out

    def _bound(self, word: int) -> float:
        """The largest score in the word's column, found once and kept."""
        if word not in self._bounds:
            scores = self._column(word)[1]
            self._bounds[word] = float(scores.max()) if len(scores) else 0.0
        return self._bounds[word]


class Asked:
    """One question's BM25 scores: its best rows and any rows' scores (the retriever asks for
    both). Up to SCORE_ALL_MAX texts every text is scored once, on first use, and both are
    read from those scores; above, the best rows are found by pruning and other rows looked up.
    """

    def __init__(self, postings: Postings, terms: list[int]) -> None:
        self._postings = postings
        self._terms = terms
        self._every: Scores | None = None  # every text's score, on a small index

    def top(self, k: int) -> tuple[Rows, Scores]:
        """The (at most) ``k`` best-scoring rows, best first, ties by row; only rows the
        question matches."""
        if not self._terms or k <= 0:
            return _NONE
        every = self._every_score()
        if every is None:
            return self._postings.top(self._terms, k)
        rows = np.flatnonzero(every > 0)
        return best(rows, every[rows], k)

    def scores_of(self, rows: Rows) -> Scores:
        """The score of each of ``rows`` (any rows, any order)."""
        every = self._every_score()
        return self._postings.scores_of(self._terms, rows) if every is None else every[rows]

    def _every_score(self) -> Scores | None:
        """Every text's score when the index is small enough that scoring them all is
        faster than pruning (see SCORE_ALL_MAX); None above."""
        if self._every is None and len(self._postings) <= SCORE_ALL_MAX:
            self._every = self._postings.scores_of_all(self._terms)
        return self._every


#: No rows, no scores.
_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def best(rows: Rows, scores: Scores, k: int) -> tuple[Rows, Scores]:
    """The k best of ``rows`` by ``scores``, best first, ties by row (a NaN score counts as
    the lowest, as lexsort places it). Also how the retriever keeps its best span candidates."""
    if len(rows) > k:  # only the rows tied with the k-th or above need sorting
        # partition would sort a NaN above everything: as the lowest, it is kept only in a tie
        clean = np.nan_to_num(scores, nan=-np.inf)
        kept = clean >= _kth(clean, k)
        rows, scores = rows[kept], scores[kept]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order].astype(np.int64), scores[order]


def _kth(values: npt.NDArray[np.float32], k: int) -> float:
    """The k-th largest of ``values`` (there are at least k)."""
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _kth_from(values: npt.NDArray[np.float32], k: int, floor: float) -> float:
    """The k-th largest of ``values`` (there are at least k), or ``floor`` if that is
    larger. When at least k values reach ``floor`` the k-th is among them, so only those are
    partitioned: most candidates are below it (at four million texts this, with the same
    filter in :meth:`Postings._add_columns`, took the pruned top 200 from 33–36 ms to 17–19 at
    p95 and from 9.2–10.1 to 6.5–7.7 at p50)."""
    high = values[values >= floor] if floor > 0.0 else values
    return max(floor, _kth(high if len(high) >= k else values, k))


def _within(floor: float, left: float, slack: float) -> float:
    """The least partial score a row needs, with ``left`` still to add, to reach ``floor``,
    lowered by ``slack`` of the sums' size: a threshold safe from rounding."""
    return floor - left - slack * (floor + left)


def _slack(words: int) -> float:
    """The relative error to allow for a question of ``words`` words (repeats counted): two
    float32 sums of the same n scores in different orders, each score times its count, differ
    by at most about 2n float32 epsilons of their size (each addition rounds by half an
    epsilon), so this allows twice that, plus SLACK."""
    return SLACK + 4 * words * float(np.finfo(np.float32).eps)


def columns_sorted(indices: npt.NDArray[np.integer], indptr: npt.NDArray[np.integer]) -> bool:
    """Whether every column's rows are strictly ascending, as :class:`Postings` requires."""
    rising = indices[1:] > indices[:-1]
    starts = indptr[1:-1]
    starts = starts[(starts > 0) & (starts < len(indices))]
    rising[starts - 1] = True  # a column's first row need not exceed the last one's
    return bool(rising.all())
