"""The passage/sentence store: what the index needs to turn a vector hit back into text.

It is plain JSON holding each source's metadata and verbatim body, the passages with their
sentence offsets, the quotable spans and the curated FAQ, in the same order as the vectors in
the FAISS files (FAQ vectors: every phrasing of every entry, in order).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.knowledge import Knowledge, KnowledgeError
from bot.models import FaqEntry, Passage, QuoteContext, Sentence, Source, Span
from bot.passages import make_spans


@dataclass(frozen=True)
class Store:
    """Sources, passages and spans, indexed by the row numbers of their vectors."""

    sources: dict[str, Source]
    passages: tuple[Passage, ...]
    spans: tuple[Span, ...]
    faq: tuple[FaqEntry, ...]
    faq_spans: tuple[int, ...]  # the span row that is each FAQ entry's quote
    scope: tuple[str, ...]  # topics the sources do not cover

    @cached_property
    def passage_ids(self) -> frozenset[str]:
        """Every passage id, for checking ids a client sends back (computed once)."""
        return frozenset(p.id for p in self.passages)

    @cached_property
    def phrasings(self) -> tuple[str, ...]:
        """Every phrasing of every FAQ entry, in FAQ vector row order."""
        return tuple(q for entry in self.faq for q in entry.phrasings)

    @cached_property
    def span_passages(self) -> npt.NDArray[np.int64]:
        """Each span row's passage row (computed once, read-only)."""
        rows = np.array([span.passage_index for span in self.spans], dtype=np.int64)
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

    def to_json(self) -> str:
        """Serialise, deterministically, for writing to disk."""
        data = {
            "sources": [asdict(s) for s in self.sources.values()],
            "passages": [_passage_to_dict(p) for p in self.passages],
            "spans": [[s.passage_index, s.first, s.last, s.start, s.end] for s in self.spans],
            "faq": [asdict(e) for e in self.faq],
            "faq_spans": list(self.faq_spans),
            "scope": list(self.scope),
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Store:
        """Inverse of :meth:`to_json`; raises ValueError on a malformed store."""
        try:
            with _collector_paused():
                data = json.loads(text)
                sources = {s["id"]: Source(**s) for s in data["sources"]}
                passages = tuple(_passage_from_dict(p) for p in data["passages"])
                spans = tuple(Span(*row) for row in data["spans"])
                faq = tuple(_faq_from_dict(e) for e in data["faq"])
                faq_spans = tuple(int(i) for i in data["faq_spans"])
                scope = tuple(str(t) for t in data["scope"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed store: {exc}") from exc
        return cls(sources, passages, spans, faq, faq_spans, scope)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a store is parsed: the ~2 million objects
    of a 100 000-passage store set it off dozens of times, each pass walking every object made
    so far (2.5-2.9 s with it, 1.0 s without). Nothing made here is garbage, and reference
    counting still frees whatever is."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _passage_to_dict(passage: Passage) -> dict[str, Any]:
    data = asdict(passage)
    data["sentences"] = [[s.start, s.end] for s in passage.sentences]
    return data


def _passage_from_dict(data: dict[str, Any]) -> Passage:
    return Passage(
        id=data["id"],
        source_id=data["source_id"],
        headings=tuple(data["headings"]),
        start=data["start"],
        end=data["end"],
        sentences=tuple(Sentence(s, e) for s, e in data["sentences"]),
    )


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
        sources={s.id: s for s in knowledge.sources},
        passages=knowledge.passages,
        spans=tuple(spans),
        faq=knowledge.faq,
        faq_spans=faq_spans,
        scope=knowledge.scope,
    )
