"""Passages and spans kept as columns of integers, each object made only when asked for.

At 300 000 passages a store holds 1.8 million spans; making every :class:`Span` and
:class:`Passage` when an index was loaded took about 4 of its 6-7 seconds (cProfile), and their
Python objects most of its 1.7 GB. As integer arrays (memory-mapped when loaded: ``serve
--workers N`` shares one copy) they load in milliseconds. The objects most recently asked for
are kept (KEPT of each), so a question's hits mostly cost a cache lookup each.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import SupportsIndex, overload

import numpy as np
import numpy.typing as npt

from bot.models import Passage, Sentence, Span

Table = npt.NDArray[np.int64]
#: How many objects each table keeps once made (the most recently asked for): a question's
#: hits ask for theirs again and again, and the bound stops a long-running server from keeping
#: every one it ever made (about 300 bytes a span).
KEPT = 8192
#: A passage row's columns: its source, its headings (rows of ``PassageTable.headings``), its
#: start and end in the source body, and its sentences (rows of ``PassageTable.sentences``).
SOURCE, HEADINGS, START, END, FIRST_SENTENCE, END_SENTENCE = range(6)


def frozen(array: npt.ArrayLike, columns: int) -> Table:
    """``array`` as read-only int64 rows of ``columns`` each; ValueError when it is not."""
    rows = np.asarray(array, dtype=np.int64)
    if rows.size == 0:
        rows = rows.reshape(0, columns)
    if rows.ndim != 2 or rows.shape[1] != columns:
        raise ValueError(f"expected rows of {columns} integers, got shape {rows.shape}")
    # shared by every request (and mapped read-only from disk); an int64 array handed in is
    # not copied, so it is made read-only too
    rows.flags.writeable = False
    return rows


def ranges(first: Table, end: Table) -> Table:
    """The positions ``first[i]`` up to ``end[i]`` of every range, joined in order: one array,
    with no Python loop over the ranges (a passage's sentences, a question's passages' spans)."""
    sizes = end - first
    offsets = np.repeat(first - np.cumsum(sizes) + sizes, sizes)
    return offsets + np.arange(int(sizes.sum()), dtype=np.int64)


def within(column: Table, limit: int) -> bool:
    """Whether every value of ``column`` is a row of a table of ``limit`` rows (0..limit-1)."""
    return not len(column) or bool(0 <= column.min() <= column.max() < limit)


def row_of(key: SupportsIndex, count: int) -> int:
    """The row ``key`` names in a table of ``count`` rows (negative counts back from the end);
    IndexError outside it, TypeError for what is not an integer."""
    row = operator.index(key)
    if row < 0:
        row += count
    if not 0 <= row < count:
        raise IndexError(f"row {key} of a table of {count}")
    return row


class SpanTable(Sequence[Span]):
    """Spans as rows ``(passage_index, first, last, start, end)``, in span row order."""

    def __init__(self, rows: npt.ArrayLike) -> None:
        self.rows = frozen(rows, 5)
        self._kept = functools.lru_cache(maxsize=KEPT)(self._make)

    @classmethod
    def of(cls, spans: Iterable[Span]) -> SpanTable:
        """The table of ``spans``, in order."""
        return cls([[s.passage_index, s.first, s.last, s.start, s.end] for s in spans])

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, key: int) -> Span: ...

    @overload
    def __getitem__(self, key: slice) -> SpanTable: ...

    def __getitem__(self, key: int | slice) -> Span | SpanTable:
        if type(key) is int and key >= 0:  # the common case, first (past the end: IndexError)
            return self._kept(key)
        if isinstance(key, slice):
            return SpanTable(self.rows[key])
        return self._kept(row_of(key, len(self.rows)))

    def _make(self, row: int) -> Span:
        return Span(*self.rows[row].tolist())

    def __iter__(self) -> Iterator[Span]:  # all of them (a build): none kept
        return (Span(*row) for row in self.rows.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpanTable) and np.array_equal(self.rows, other.rows)

    __hash__ = None  # type: ignore[assignment]  # compared by value, not hashed


class PassageTable(Sequence[Passage]):
    """Passages as rows of :data:`SOURCE` … :data:`END_SENTENCE` columns, with their ids, the
    source ids and heading paths the rows point to, and every sentence's ``(start, end)``."""

    def __init__(
        self,
        ids: Sequence[str],
        sources: Sequence[str],
        headings: Sequence[tuple[str, ...]],
        rows: npt.ArrayLike,
        sentences: npt.ArrayLike,
    ) -> None:
        self.ids = tuple(ids)
        self.sources = tuple(sources)
        self.headings = tuple(headings)
        self.rows = frozen(rows, 6)
        self.sentences = frozen(sentences, 2)
        self._kept = functools.lru_cache(maxsize=KEPT)(self._make)
        self._check()

    @classmethod
    def of(cls, passages: Iterable[Passage]) -> PassageTable:
        """The table of ``passages``, in order."""
        passages = tuple(passages)
        sources = list(dict.fromkeys(p.source_id for p in passages))
        headings = list(dict.fromkeys(p.headings for p in passages))
        source_row = {s: i for i, s in enumerate(sources)}
        heading_row = {h: i for i, h in enumerate(headings)}
        rows: list[list[int]] = []
        sentences: list[tuple[int, int]] = []
        for p in passages:
            first = len(sentences)
            sentences += [(s.start, s.end) for s in p.sentences]
            row = [source_row[p.source_id], heading_row[p.headings], p.start, p.end, first]
            rows.append([*row, len(sentences)])
        return cls([p.id for p in passages], sources, headings, rows, sentences)

    def _check(self) -> None:
        """ValueError unless every row points inside the ids, sources, headings and sentences."""
        rows = self.rows
        if len(self.ids) != len(rows):
            raise ValueError(f"passage table: {len(self.ids)} ids for {len(rows)} rows")
        sentences = len(self.sentences) + 1  # a passage's sentences end at most past the last
        limits = {
            SOURCE: len(self.sources),
            HEADINGS: len(self.headings),
            FIRST_SENTENCE: sentences,
            END_SENTENCE: sentences,
        }
        for column, limit in limits.items():
            if not within(rows[:, column], limit):
                raise ValueError(f"passage table: column {column} outside 0..{limit - 1}")
        backwards = rows[:, END] < rows[:, START]
        if (backwards | (rows[:, END_SENTENCE] < rows[:, FIRST_SENTENCE])).any():
            raise ValueError("passage table: a passage ends before it starts")

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, key: int) -> Passage: ...

    @overload
    def __getitem__(self, key: slice) -> tuple[Passage, ...]: ...

    def __getitem__(self, key: int | slice) -> Passage | tuple[Passage, ...]:
        if type(key) is int and key >= 0:  # as for spans
            return self._kept(key)
        if isinstance(key, slice):
            return tuple(self._make(i) for i in range(len(self))[key])
        return self._kept(row_of(key, len(self.rows)))

    def _make(self, row: int) -> Passage:
        source, heading, start, end, first, last = self.rows[row].tolist()
        return Passage(
            id=self.ids[row],
            source_id=self.sources[source],
            headings=self.headings[heading],
            start=start,
            end=end,
            sentences=tuple(Sentence(s, e) for s, e in self.sentences[first:last].tolist()),
        )

    def __iter__(self) -> Iterator[Passage]:  # all of them (a build): none kept
        return (self._make(row) for row in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PassageTable):
            return False
        same = (self.ids, self.sources, self.headings) == (other.ids, other.sources, other.headings)
        return (
            same
            and np.array_equal(self.rows, other.rows)
            and np.array_equal(self.sentences, other.sentences)
        )

    __hash__ = None  # type: ignore[assignment]  # compared by value, not hashed

    def source_rows(self) -> Table:
        """Each passage's row in :attr:`sources` (read-only)."""
        return self.rows[:, SOURCE]
