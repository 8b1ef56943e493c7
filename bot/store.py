"""The passage/sentence store: what the index needs to turn a vector hit back into text.

On disk it is ``store.json``, holding each source's metadata and where its body lies in
``store-bodies.txt`` (every verbatim body, UTF-8, one after another; memory-mapped when loaded,
each body decoded when asked for), the curated FAQ, the passages' ids and the heading paths and
source ids they point to, and three integer arrays (``store-*.npy``, memory-mapped when
loaded): the passages' rows, their sentences' offsets and the quotable spans (see
:mod:`bot.tables`). Rows are in the same order as the vectors in the
FAISS files (FAQ vectors: every phrasing of every entry, in order).
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.knowledge import Knowledge, KnowledgeError
from bot.models import FaqEntry, Passage, QuoteContext, Source, Span
from bot.passages import make_spans
from bot.tables import (
    END,
    END_SENTENCE,
    FIRST_SENTENCE,
    SOURCE,
    START,
    PassageTable,
    SourceTable,
    SpanTable,
    Table,
    ranges,
    within,
)

#: The store's files in an index folder: the JSON, the bodies, then each array
#: (``store-<name>.npy``).
JSON_FILE = "store.json"
BODIES_FILE = "store-bodies.txt"
ARRAYS = ("passages", "sentences", "spans")
FILES = (JSON_FILE, BODIES_FILE, *(f"store-{name}.npy" for name in ARRAYS))


@dataclass(frozen=True)
class Store:
    """Sources, passages and spans, indexed by the row numbers of their vectors."""

    sources: SourceTable
    passages: PassageTable
    spans: SpanTable
    faq: tuple[FaqEntry, ...]
    faq_spans: tuple[int, ...]  # the span row that is each FAQ entry's quote
    scope: tuple[str, ...]  # topics the sources do not cover

    def __post_init__(self) -> None:
        """ValueError unless every row lies where it says (the tables check that their own
        references exist): each span's passage and each FAQ quote's span exist, each passage
        lies within its source's body, each sentence within its passage, each span within its
        passage and among its sentences. A quote is cut by these offsets, so a store that
        breaks them is refused rather than served."""
        if not within(self.spans.rows[:, 0], len(self.passages)):
            raise ValueError("a span's passage is not in the store")
        if len(self.faq_spans) != len(self.faq):
            raise ValueError(f"{len(self.faq)} FAQ entries, {len(self.faq_spans)} quote spans")
        if any(not 0 <= row < len(self.spans) for row in self.faq_spans):
            raise ValueError("an FAQ quote's span is not in the store")
        if not set(self.passages.sources) <= set(self.sources):
            raise ValueError("a passage's source is not in the store")
        lengths = self.sources.lengths(self.passages.sources)
        misplaced = _misplaced(self.passages, self.spans, lengths)
        if misplaced:
            raise ValueError(f"{misplaced} lies outside where it belongs")

    @cached_property
    def passage_ids(self) -> frozenset[str]:
        """Every passage id, for checking ids a client sends back (computed once)."""
        return frozenset(self.passages.ids)

    @cached_property
    def phrasings(self) -> tuple[str, ...]:
        """Every phrasing of every FAQ entry, in FAQ vector row order."""
        return tuple(q for entry in self.faq for q in entry.phrasings)

    @cached_property
    def span_passages(self) -> npt.NDArray[np.int64]:
        """Each span row's passage row (computed once, read-only)."""
        rows = np.ascontiguousarray(self.spans.rows[:, 0])
        rows.flags.writeable = False
        return rows

    @property
    def faq_rows(self) -> tuple[int, ...]:
        """For each FAQ vector row, the index of the entry it phrases."""
        return tuple(i for i, entry in enumerate(self.faq) for _ in entry.phrasings)

    def body(self, passage: Passage) -> str:
        """The verbatim body of the passage's source."""
        return self.sources[passage.source_id].body

    def passage_text(self, passage: Passage) -> str:
        """The verbatim text of a passage (headings excluded)."""
        return self.body(passage)[passage.start : passage.end]

    def quote(self, span: Span) -> str:
        """The verbatim text of a span: what a patient is shown."""
        return self.body(self.passages[span.passage_index])[span.start : span.end]

    def context(self, passage_index: int, start: int, end: int) -> QuoteContext:
        """What surrounds ``body[start:end]`` in its paragraph, plus the paragraphs just before
        and after it under the same headings: enough to read a quote in its place."""
        passage = self.passages[passage_index]
        body = self.body(passage)
        before = [body[passage.start : start]]
        after = [body[end : passage.end]]
        previous, following = self._neighbour(passage_index, -1), self._neighbour(passage_index, 1)
        if previous is not None:
            before.insert(0, self.passage_text(previous))
        if following is not None:
            after.append(self.passage_text(following))
        return QuoteContext(passage.headings, tuple(before), tuple(after))

    def _neighbour(self, index: int, step: int) -> Passage | None:
        """The passage next to ``index`` in the same source and section, if any."""
        other = index + step
        if not 0 <= other < len(self.passages):
            return None
        here, there = self.passages[index], self.passages[other]
        same = there.source_id == here.source_id and there.headings == here.headings
        return there if same else None

    def save(self, folder: Path) -> None:
        """Write the store's :data:`FILES` into ``folder``, deterministically."""
        table = self.passages
        bounds = self.sources.bounds.tolist()
        data = {
            "sources": [
                {**_without_body(source), "text": where}
                for source, where in zip(self.sources.without_bodies(), bounds, strict=True)
            ],
            "passages": {
                "ids": list(table.ids),
                "sources": list(table.sources),
                "headings": [list(h) for h in table.headings],
            },
            "faq": [asdict(e) for e in self.faq],
            "faq_spans": list(self.faq_spans),
            "scope": list(self.scope),
        }
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        (folder / JSON_FILE).write_text(text, encoding="utf-8")
        (folder / BODIES_FILE).write_bytes(self.sources.text[:])
        arrays = {"passages": table.rows, "sentences": table.sentences, "spans": self.spans.rows}
        for name, array in arrays.items():
            np.save(folder / f"store-{name}.npy", array, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> Store:
        """Read what :meth:`save` wrote; ValueError on a malformed store (OSError propagates).

        The arrays and the bodies are memory-mapped, not read (a build never rewrites a
        published file): at 300 000 passages the store then loads in well under a second."""
        text = (folder / JSON_FILE).read_text("utf-8")
        try:
            arrays = {name: _mapped(folder / f"store-{name}.npy") for name in ARRAYS}
            data = json.loads(text)
            sources = _sources(data["sources"], _mapped_text(folder / BODIES_FILE))
            table = data["passages"]
            passages = PassageTable(
                [str(i) for i in table["ids"]],
                [str(s) for s in table["sources"]],
                [tuple(str(h) for h in path) for path in table["headings"]],
                arrays["passages"],
                arrays["sentences"],
            )
            faq = tuple(_faq_from_dict(e) for e in data["faq"])
            faq_spans = tuple(int(i) for i in data["faq_spans"])
            scope = tuple(str(t) for t in data["scope"])
            return cls(sources, passages, SpanTable(arrays["spans"]), faq, faq_spans, scope)
        except (KeyError, TypeError, ValueError, EOFError) as exc:  # EOFError: an empty .npy
            raise ValueError(f"malformed store: {exc}") from exc


def _without_body(source: Source) -> dict[str, Any]:
    fields = asdict(source)
    del fields["body"]
    return fields


def _sources(saved: list[dict[str, Any]], text: bytes | mmap.mmap) -> SourceTable:
    """The sources :meth:`Store.save` wrote, over the text of their bodies."""
    bounds = [entry["text"] for entry in saved]
    if not all(isinstance(v, int) for where in bounds for v in where):  # numpy would convert
        raise ValueError("a source's text is not where its bytes start and end, and its length")
    fields = [{k: v for k, v in entry.items() if k != "text"} for entry in saved]
    sources = [Source(**entry, body="") for entry in fields]
    return SourceTable(sources, text, np.array(bounds, dtype=np.int64).reshape(len(saved), 3))


def _mapped_text(path: Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (an empty file cannot be: it is read)."""
    with path.open("rb") as handle:
        if not os.fstat(handle.fileno()).st_size:
            return handle.read()
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def _mapped(path: Path) -> Table:
    """The integer rows saved at ``path``, memory-mapped; ValueError unless they are rows of
    this machine's int64, in C order, as :meth:`Store.save` writes them (anything else would be
    converted, silently and into a private copy)."""
    array = np.load(path, mmap_mode="r")
    if array.dtype != np.dtype(np.int64) or array.ndim != 2 or not array.flags.c_contiguous:
        raise ValueError(f"{path.name} holds {array.dtype} of shape {array.shape}, not int64 rows")
    return np.asarray(array)


def _misplaced(passages: PassageTable, spans: SpanTable, body_lengths: Table) -> str | None:
    """Which kind of row lies outside where it belongs, if any: a passage outside its source's
    body (``body_lengths``, by source row), a sentence outside its passage, a span outside its
    passage or its sentences. Whole columns at a time: 0.05 s for 1.8 million spans."""
    rows = passages.rows
    start, end = rows[:, START], rows[:, END]
    if ((start < 0) | (end > body_lengths[rows[:, SOURCE]])).any():
        return "a passage"
    counts = rows[:, END_SENTENCE] - rows[:, FIRST_SENTENCE]
    owner = np.repeat(np.arange(len(rows)), counts)
    sentences = passages.sentences[ranges(rows[:, FIRST_SENTENCE], rows[:, END_SENTENCE])]
    outside = (sentences[:, 0] < start[owner]) | (sentences[:, 1] > end[owner])
    if (outside | (sentences[:, 1] < sentences[:, 0])).any():
        return "a sentence"
    span = spans.rows
    owners = span[:, 0]
    among = (span[:, 1] >= 0) & (span[:, 1] <= span[:, 2]) & (span[:, 2] < counts[owners])
    within = (
        (span[:, 3] >= start[owners]) & (span[:, 3] <= span[:, 4]) & (span[:, 4] <= end[owners])
    )
    return None if (among & within).all() else "a span"


def _faq_from_dict(data: dict[str, Any]) -> FaqEntry:
    return FaqEntry(**{**data, "alternates": tuple(data["alternates"])})


def _faq_span(entry: FaqEntry, passages: tuple[Passage, ...], spans: list[Span]) -> int:
    """The span row of an FAQ quote, appending a span when no sentence window matches it."""
    for row, span in enumerate(spans):
        same_source = passages[span.passage_index].source_id == entry.source_id
        if same_source and (span.start, span.end) == (entry.start, entry.end):
            return row
    for p_index, passage in enumerate(passages):
        inside = passage.start <= entry.start and entry.end <= passage.end
        if passage.source_id == entry.source_id and inside:
            ends = [i for i, s in enumerate(passage.sentences) if s.start < entry.end]
            starts = [i for i, s in enumerate(passage.sentences) if s.end > entry.start]
            spans.append(Span(p_index, starts[0], ends[-1], entry.start, entry.end))
            return len(spans) - 1
    raise KnowledgeError([f"faq entry '{entry.id}': the quote must lie within one passage"])


def build_store(knowledge: Knowledge) -> Store:
    """The store for parsed knowledge: sources, passages, quotable spans and the FAQ."""
    bodies = {s.id: s.body for s in knowledge.sources}
    spans = make_spans(list(knowledge.passages), bodies)
    faq_spans = tuple(_faq_span(e, knowledge.passages, spans) for e in knowledge.faq)
    return Store(
        sources=SourceTable.of(knowledge.sources),
        passages=PassageTable.of(knowledge.passages),
        spans=SpanTable.of(spans),
        faq=knowledge.faq,
        faq_spans=faq_spans,
        scope=knowledge.scope,
    )
