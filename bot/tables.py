"""Passages and spans kept as columns of integers, each object made only when asked for; the
sources with their bodies as one UTF-8 text, each body decoded only when asked for.

At 300 000 passages a store holds 1.8 million spans; making every :class:`Span` and
:class:`Passage` when an index was loaded took about 4 of its 6-7 seconds (cProfile), and their
Python objects most of its 1.7 GB. As integer arrays (memory-mapped when loaded: ``serve
--workers N`` shares one copy) they load in milliseconds. The objects most recently asked for
are kept (KEPT of each), so a question's hits mostly cost a cache lookup each.
"""

from __future__ import annotations

import dataclasses
import functools
import mmap
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import SupportsIndex, TypeVar, overload

import numpy as np
import numpy.typing as npt

from bot.models import Passage, Sentence, Source, Span

Table = npt.NDArray[np.int64]
#: How many objects each table keeps once made (the most recently asked for): a question's
#: hits ask for theirs again and again, and the bound stops a long-running server from keeping
#: every one it ever made (about 300 bytes a span).
KEPT = 8192
#: How many sources keep their decoded bodies (the most recently asked for): a body is a whole
#: document, and a question's quotes come from a few.
KEPT_SOURCES = 32
#: A source's body's row in a :class:`SourceTable`: where its UTF-8 bytes start and end in the
#: text of all bodies, and how many characters it has (what passages' offsets count).
BYTE_START, BYTE_END, CHARS = range(3)
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
        self._kept = _keeping(KEPT, functools.partial(_span, self.rows))

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
        parts = (self.ids, self.sources, self.headings, self.rows, self.sentences)
        self._make = functools.partial(_passage, *parts)
        self._kept = _keeping(KEPT, self._make)
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


class SourceTable(Mapping[str, Source]):
    """Sources by id, in order, their bodies kept as one UTF-8 text (memory-mapped when loaded)
    and decoded only when a source is asked for.

    At a million passages the sources' bodies are 230 MB: parsing them out of the store's JSON
    took 0.9 s of every start, and each worker process held its own copy. Here a start reads
    only where each body lies, and the processes share the mapped pages.
    """

    def __init__(
        self, sources: Sequence[Source], text: bytes | mmap.mmap, bounds: npt.ArrayLike
    ) -> None:
        """``sources``: each source with its body left empty; ``text``: every body's UTF-8
        bytes; ``bounds``: a row for each (:data:`BYTE_START`, :data:`BYTE_END`,
        :data:`CHARS`). ValueError when an id repeats, or the bodies do not fill the text back to
        back (as :meth:`of` and :meth:`bot.store.Store.save` lay them), or a body's characters
        cannot be its bytes."""
        self._sources = tuple(dataclasses.replace(source, body="") for source in sources)
        self.text = text  # every body's UTF-8 bytes, as bot.store.Store.save writes them
        self.bounds = frozen(bounds, 3)
        self._rows = {source.id: row for row, source in enumerate(self._sources)}
        self._kept = _keeping(
            KEPT_SOURCES, functools.partial(_source, self._sources, self.text, self.bounds)
        )
        self._check()

    @classmethod
    def of(cls, sources: Iterable[Source]) -> SourceTable:
        """The table of ``sources``, in order, their bodies encoded."""
        sources = tuple(sources)
        encoded = [source.body.encode("utf-8") for source in sources]
        sizes = np.array([len(body) for body in encoded], dtype=np.int64)
        chars = [len(source.body) for source in sources]
        ends = np.cumsum(sizes)
        bounds = np.column_stack([ends - sizes, ends, chars])
        return cls(sources, b"".join(encoded), bounds.reshape(len(sources), 3))

    def _check(self) -> None:
        if len(self._rows) != len(self._sources):
            raise ValueError("source table: an id appears twice")
        if len(self.bounds) != len(self._sources):
            raise ValueError(f"source table: {len(self.bounds)} bodies for {len(self._rows)}")
        start, end, chars = (
            self.bounds[:, BYTE_START],
            self.bounds[:, BYTE_END],
            self.bounds[:, CHARS],
        )
        size = end - start
        if ((start < 0) | (size < 0) | (end > len(self.text))).any():
            raise ValueError("source table: a body lies outside the text of the bodies")
        # back to back, as saved: a body moved by a byte would cut every quote from it askew
        follows = np.array_equal(start, np.concatenate([[0], end])[: len(start)])
        if not follows or (int(end[-1]) if len(end) else 0) != len(self.text):
            raise ValueError("source table: the bodies do not fill the text one after another")
        # a character is one to four bytes in UTF-8; each body's exact count is checked when it
        # is decoded (a start does not read them: the file's SHA-256 vouches for its bytes)
        if ((chars > size) | (4 * chars < size)).any():
            raise ValueError("source table: a body's characters cannot be its bytes")

    def without_bodies(self) -> tuple[Source, ...]:
        """Every source, in order, its body left empty (what a start reads)."""
        return self._sources

    def lengths(self, ids: Sequence[str]) -> Table:
        """The number of characters in the body of each source ``ids`` names; KeyError for an
        id not in the table. No body is decoded."""
        rows = np.array([self._rows[i] for i in ids], dtype=np.int64)
        return self.bounds[rows, CHARS] if len(rows) else np.zeros(0, dtype=np.int64)

    def __getitem__(self, source_id: str) -> Source:
        return self._kept(self._rows[source_id])

    def __contains__(self, source_id: object) -> bool:  # Mapping's would decode the body
        return source_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._sources)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SourceTable):
            return False
        same = self._sources == other._sources and np.array_equal(self.bounds, other.bounds)
        return same and self.text[:] == other.text[:]

    __hash__ = None  # type: ignore[assignment]  # compared by value, not hashed


T = TypeVar("T")


def _keeping(size: int, make: Callable[[int], T]) -> Callable[[int], T]:
    """``make``, keeping the ``size`` objects most recently made. ``make`` must not hold its
    table: a table whose cache held it back would be freed only by a full garbage collection,
    and an index replaced by a reload would keep its files mapped (and, once its folder is
    removed, their disk space) until then."""
    return functools.lru_cache(maxsize=size)(make)


def _span(rows: Table, row: int) -> Span:
    return Span(*rows[row].tolist())


def _passage(
    ids: tuple[str, ...],
    sources: tuple[str, ...],
    headings: tuple[tuple[str, ...], ...],
    rows: Table,
    sentences: Table,
    row: int,
) -> Passage:
    source, heading, start, end, first, last = rows[row].tolist()
    return Passage(
        id=ids[row],
        source_id=sources[source],
        headings=headings[heading],
        start=start,
        end=end,
        sentences=tuple(Sentence(s, e) for s, e in sentences[first:last].tolist()),
    )


def _source(
    sources: tuple[Source, ...], text: bytes | mmap.mmap, bounds: Table, row: int
) -> Source:
    start, end, chars = bounds[row].tolist()
    body = text[start:end].decode("utf-8")
    if len(body) != chars:  # the file is hash-checked: only a build could write this
        raise ValueError(f"source {sources[row].id}: {len(body)} characters, not {chars}")
    return dataclasses.replace(sources[row], body=body)
