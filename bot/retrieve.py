"""Hybrid retrieval: rank quotable spans by meaning (dense), by words (BM25) and by the FAQ.

- *dense*: how well the span itself matches the question blended with how well its whole
  passage (with headings) does. The passage brings context a single sentence lacks (a list
  item under "Who is This Treatment Suitable For?"); the span keeps the quote focused.
- *lexical*: BM25 over the span with its headings, scaled to 0..1 by the best span.
- *faq*: a patient question close to a curated FAQ question lifts that entry's quote. Questions
  match questions far better than they match statements with this kind of model.

Whether the sources cover the question at all is judged on absolute cosine similarities (dense
and FAQ), which are comparable across questions; scaled BM25 is relative by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.embed import Embedder, Vectors
from bot.index import LoadedIndex
from bot.lexical import Bm25
from bot.models import FaqEntry, Passage, Span
from bot.qtype import expected_types, matches
from bot.spelling import Speller

#: Weight of the span's own similarity in its dense score; the passage's gets the rest.
SPAN_WEIGHT = 0.6
#: Weight of scaled BM25 added to the dense score when ranking.
LEXICAL_WEIGHT = 0.25
#: FAQ similarity below this lifts nothing; above it, the lift grows linearly to FAQ_WEIGHT.
FAQ_FLOOR = 0.7
FAQ_WEIGHT = 1.0
#: How many of the closest FAQ entries may lift their quote.
FAQ_TOP = 1
#: An FAQ entry lifts only when it leads the next one by this much: a generic question close
#: to several entries at once ("what's new in stem cells?") is not any one of them.
FAQ_LEAD = 0.05
#: Added when a span holds the kind of fact asked for (a number for "how many", …).
TYPE_WEIGHT = 0.25
_CANDIDATES = 200


@dataclass(frozen=True)
class Hit:
    """A candidate quote with its scores."""

    span: Span
    passage: Passage
    score: float  # used for ranking: dense + lexical + FAQ lift
    dense: float  # blended cosine similarity of span and passage
    lexical: float  # BM25 scaled to 0..1 among this question's spans
    faq: float  # similarity to the closest FAQ question whose quote this is (0 if none)


@dataclass(frozen=True)
class Results:
    """Ranked hits plus what the answer composer needs to judge coverage and suggest."""

    hits: list[Hit]
    faq: list[tuple[FaqEntry, float]]  # every FAQ entry with its similarity, best first
    unknown: tuple[str, ...] = ()  # topic words of the question no source or FAQ uses

    @property
    def coverage(self) -> float:
        """How close the sources come to the question: the best dense or FAQ similarity."""
        best_hit = max((h.dense for h in self.hits), default=-1.0)
        best_faq = self.faq[0][1] if self.faq else -1.0
        return max(best_hit, best_faq)

    def gate_score(self, unknown_penalty: float) -> float:
        """Coverage, lowered when the question names something the knowledge never mentions
        ("does coffee make MS worse?"): the no-answer gate compares this with min_score."""
        return self.coverage - (unknown_penalty if self.unknown else 0.0)


@dataclass(frozen=True)
class _Query:
    """Everything scored once per question and shared by all its candidate spans."""

    passages: dict[int, float]  # passage row → dense similarity (top candidates)
    passage_floor: float  # stands in for passages outside the candidates
    lexical: npt.NDArray[np.float32]  # BM25 per span row, scaled to 0..1
    lifts: dict[int, float]  # span row → FAQ similarity, for a clearly matched FAQ entry
    types: list[str]  # answer types asked for


class Retriever:
    """Embeds a question once and ranks the spans of one loaded index."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        store = index.store
        self._bm25 = Bm25([self._lexical_text(span) for span in store.spans])
        self._faq_rows = store.faq_rows  # computed once: it is looked up for every FAQ hit
        vocabulary = [s.body for s in store.sources.values()]
        vocabulary += [q for entry in store.faq for q in entry.phrasings]
        self.speller = Speller(vocabulary + [h for p in store.passages for h in p.headings])

    def _lexical_text(self, span: Span) -> str:
        store = self.index.store
        passage = store.passages[span.passage_index]
        return " ".join([*passage.headings, store.body(passage)[span.start : span.end]])

    def search(self, question: str, k: int = 50) -> Results:
        """The k best spans for a question, best first, with the FAQ similarities."""
        question = self.speller.correct(question)
        vector = self.embedder.encode([question])[0]
        faq = self._faq_scores(vector)
        query = self._query(question, vector, faq)
        dense = dict(self.index.search("spans", vector, _CANDIDATES))
        missing = [row for row in query.lifts if row not in dense]
        dense.update(zip(missing, self.index.score("spans", vector, missing), strict=True))
        hits = sorted(
            (self._hit(row, score, query) for row, score in dense.items()),
            key=lambda h: h.score,
            reverse=True,
        )
        return Results(hits[:k], faq, tuple(self.speller.unknown_words(question)))

    def _query(self, question: str, vector: Vectors, faq: list[tuple[FaqEntry, float]]) -> _Query:
        passages = dict(self.index.search("passages", vector, _CANDIDATES))
        lexical = self._bm25.scores(question)
        top = float(lexical.max()) if lexical.size else 0.0
        scaled = lexical / top if top > 0 else lexical
        floor = min(passages.values(), default=0.0)
        return _Query(passages, floor, scaled, self._faq_lifts(faq), expected_types(question))

    def _faq_scores(self, vector: Vectors) -> list[tuple[FaqEntry, float]]:
        """Each FAQ entry with the similarity of its closest phrasing, best first."""
        best: dict[int, float] = {}
        for row, score in self.index.search("faq", vector, len(self._faq_rows)):
            entry = self._faq_rows[row]
            best[entry] = max(score, best.get(entry, -1.0))
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
        return [(self.index.store.faq[entry], score) for entry, score in ranked]

    def _faq_lifts(self, faq: list[tuple[FaqEntry, float]]) -> dict[int, float]:
        """Span row → FAQ similarity, for entries close enough to lift their quote."""
        store = self.index.store
        span_of = {e.id: row for e, row in zip(store.faq, store.faq_spans, strict=True)}
        scores = [score for _, score in faq] + [-1.0]
        lifts: dict[int, float] = {}
        for rank, (entry, score) in enumerate(faq[:FAQ_TOP]):
            if score > FAQ_FLOOR and score - scores[rank + 1] >= FAQ_LEAD:
                row = span_of[entry.id]
                lifts[row] = max(score, lifts.get(row, 0.0))
        return lifts

    def _hit(self, row: int, span_score: float, query: _Query) -> Hit:
        store = self.index.store
        span = store.spans[row]
        passage = store.passages[span.passage_index]
        passage_score = query.passages.get(span.passage_index, query.passage_floor)
        dense = SPAN_WEIGHT * span_score + (1 - SPAN_WEIGHT) * passage_score
        lexical = float(query.lexical[row])
        faq = query.lifts.get(row, 0.0)
        lift = FAQ_WEIGHT * max(0.0, faq - FAQ_FLOOR) / (1 - FAQ_FLOOR)
        text = store.body(passage)[span.start : span.end]
        typed = TYPE_WEIGHT if query.types and matches(text, query.types) else 0.0
        score = dense + LEXICAL_WEIGHT * lexical + lift + typed
        return Hit(span, passage, score, dense, lexical, faq)
