"""Hybrid retrieval: rank quotable spans by meaning (dense), by words (BM25) and by the FAQ.

- *dense*: how well the span itself (embedded with its headings and list lead-in) matches the
  question, blended with how well its whole passage (with headings) does. The passage brings
  context a single sentence lacks; the span keeps the quote focused.
- *lexical*: BM25 over the span with its headings, scaled to 0..1 by the best span.
- *faq*: a question closest to one curated FAQ question lifts that entry's quote; entries in a
  near-tie with it lift theirs by less (:mod:`bot.faqmatch`).
- *types*: "how many …" favours spans holding a number, "when …" a time, "where …" a place,
  "why …" a cause, "better than …" a comparison (bot.qtype).

Each signal has a weight in :class:`Weights`; :data:`MODES` names the final pipeline and the
dense-only and BM25-only baselines that ``faqbot eval --ablation`` compares it with.

Whether the sources cover the question at all is judged on absolute cosine similarities (dense
and FAQ), which are comparable across questions; scaled BM25 is relative by construction.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from bot.embed import Embedder, Vectors
from bot.faqmatch import FAQ_FLOOR, FaqMatcher
from bot.index import LoadedIndex
from bot.models import FaqEntry, Passage, Question, Span
from bot.postings import Asked, best
from bot.qtype import expected_types
from bot.spelling import Speller
from bot.tables import ranges
from bot.vectors import Rows

#: Weights of earlier user turns mixed into a follow-up's query vector, newest first (the
#: message itself weighs 1): "what are the risks of that?" says little without its topic.
CONTEXT_WEIGHTS = (1.0, 0.5)
#: Spans each of dense and keyword search puts forward per question (the scale benchmark
#: times BM25 with the same number), and passages the passage search puts forward.
CANDIDATES = 200
#: When the spans are not searched but found among the spans of the passages put forward, the
#: build doubles how many passages those are, from CANDIDATES up to this, until its probes find
#: the spans' ten closest there as often as RECALL_TARGET asks (or a doubling gains less than
#: THROUGH_MIN_GAIN); the manifest records the count (the spans' ``passages``) and the recall
#: (bot.builder, bot.vectors.through_candidates).
PASSAGES_MAX = 1600
#: From this many passages on, the passage search runs in another thread while BM25 runs in
#: the question's own: faiss and numpy's large operations let go of the GIL, so the two overlap
#: their waits for memory. Smaller indexes fit the caches, and the two searches would only
#: share the cores, with the hand-over on top (measured at 25 000 to a million passages: see
#: docs/performance.md, *The passage search beside BM25*).
SIDE_BY_SIDE_MIN = 200_000
#: Threads for those passage searches, shared by every retriever of the process (so a reload
#: does not leave threads behind); several, so questions searched at once (staff searches,
#: reload canaries beside chat) do not queue for one. Code run on them must never search.
SIDE_THREADS = 4


@dataclass(frozen=True)
class Weights:
    """How much each signal counts when ranking spans."""

    span: float = 0.6  # share of the span's own similarity in the dense score (rest: passage)
    dense: float = 1.0
    lexical: float = 0.25
    faq: float = 1.0
    # share of the FAQ phrasings' scaled BM25 in choosing which FAQ entry lifts its quote:
    # measured 0.15 to 0.25 alike on the held-out calibration questions, 0.25 best on eval
    faq_lexical: float = 0.25
    types: float = 0.25
    spelling: bool = True


MODES = {
    "final": Weights(),
    "dense-only": Weights(lexical=0.0, faq=0.0, types=0.0, spelling=False),
    "bm25-only": Weights(dense=0.0, lexical=1.0, faq=0.0, types=0.0, spelling=False),
}


class Hit(NamedTuple):
    """A candidate quote with its scores. (A named tuple: up to 50 are made per question, and
    a frozen dataclass costs three times as much to make.)"""

    span: Span
    passage: Passage
    score: float  # used for ranking: the weighted sum of the signals
    dense: float  # blended cosine similarity of span and passage
    lexical: float  # BM25 scaled to 0..1 among this question's spans
    faq: float  # effective FAQ similarity lifting this quote (0 if none lifts it)


@dataclass(frozen=True)
class Results:
    """Ranked hits plus what the answer composer needs to judge coverage and suggest."""

    hits: list[Hit]
    faq: list[tuple[FaqEntry, float]]  # every FAQ entry with its similarity, best first
    unknown: tuple[str, ...] = ()  # topic words of the question no source or FAQ uses
    use_faq: bool = True

    @property
    def coverage(self) -> float:
        """How close the sources come to the question: the best dense or FAQ similarity."""
        best_hit = max((h.dense for h in self.hits), default=-1.0)
        best_faq = self.faq[0][1] if self.faq and self.use_faq else -1.0
        return max(best_hit, best_faq)

    def gate_score(self, unknown_penalty: float) -> float:
        """Coverage, lowered when the question names something the knowledge never mentions
        ("does coffee make MS worse?"): the no-answer gate compares this with min_score."""
        return self.coverage - (unknown_penalty if self.unknown else 0.0)


@dataclass(frozen=True)
class _Query:
    """Everything scored once per question and shared by all its candidate spans."""

    vector: Vectors  # the question's
    passages: dict[int, float]  # passage row → dense similarity (top candidates)
    lexical: Asked  # the question's BM25 scores over the spans
    lexical_rows: Rows  # the spans BM25 scores highest (CANDIDATES of them at most)
    lexical_best: float  # the best span's BM25 score: lexical scores are scaled by it
    lifts: dict[int, float]  # span row → FAQ similarity, for a clearly matched FAQ entry
    types: list[str]  # answer types asked for


def lexical_words(asked: Question) -> str:
    """What BM25 and the FAQ's keywords are asked with: the message twice and the newest earlier
    turn once, so the words weigh toward the newest."""
    return " ".join([asked.text, asked.text, *asked.context[:1]])


class Retriever:
    """Embeds a question once and ranks the spans of one loaded index."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, weights: Weights | None = None):
        self.index = index
        self.embedder = embedder
        self.weights = weights or MODES["final"]
        store = index.store
        self._bm25 = index.lexical  # built with the index, loaded from disk
        self.faq_matcher = FaqMatcher(index, self.weights.faq_lexical)
        self._span_passage = store.span_passages
        # many spans are not searched but scored among their passages' (bot.vectors.plan_index)
        self._passage_spans = None
        self._put_forward: int | None = None  # passages searched when not CANDIDATES
        self._side_by_side = len(store.passages) >= SIDE_BY_SIDE_MIN
        spans = index.vectors["spans"]
        if not spans.searched:
            self._passage_spans = _spans_by_passage(self._span_passage, len(store.passages))
            self._put_forward = spans.spec.get("passages")
        self._type_masks = index.types  # found at build time
        # staff-only sources are searched for staff and never shown to patients
        public = {s.id for s in store.sources.without_bodies() if s.audience == "public"}
        public_source = np.array([s in public for s in store.passages.sources], dtype=bool)
        self._public_spans = public_source[store.passages.source_rows()][self._span_passage]
        self._public_sources = public
        self.speller = Speller(index.vocabulary)  # found at build time

    def search(self, question: Question | str, k: int = 50, staff: bool = False) -> Results:
        """The k best spans for a question, best first, with the FAQ similarities.

        Only ``audience: public`` sources are searched unless ``staff`` is set.
        """
        asked = self.corrected(question)
        vector = self._embed(asked)
        faq = self.faq_matcher.scores(vector)
        if not staff:
            faq = [(e, score) for e, score in faq if e.source_id in self._public_sources]
        query = self._query(asked, vector, faq)
        rows, span_scores = self._span_candidates(query)
        extra = set(query.lexical_rows.tolist()) | set(query.lifts)
        missing = sorted(extra - set(rows.tolist()))
        if missing:
            rows = np.concatenate([rows, np.array(missing, dtype=np.int64)])
            more = self.index.score("spans", vector, missing)
            span_scores = np.concatenate([span_scores, more])
        if not staff:
            public = self._public_spans[rows]
            rows, span_scores = rows[public], span_scores[public]
        hits = self._rank(rows, span_scores, query, k)
        unknown = tuple(self.speller.unknown_words(asked.text))
        return Results(hits, faq, unknown, use_faq=self.weights.faq > 0)

    def corrected(self, question: Question | str) -> Question:
        """The question as it is searched: with spelling on, each word unknown to the knowledge
        corrected to a close known one, in the message and its earlier turns."""
        asked = Question(question) if isinstance(question, str) else question
        if not self.weights.spelling:
            return asked
        context = tuple(self.speller.correct(t) for t in asked.context)
        return Question(self.speller.correct(asked.text), context)

    def _span_candidates(self, query: _Query) -> tuple[Rows, npt.NDArray[np.float32]]:
        """The CANDIDATES spans most like the question, best first, with their similarities:
        from the spans' own search, or, when the spans are not searched (the manifest says
        ``searched: false``: the build had more than its exact_max), from the spans of the
        passages the passage search put forward.

        A span's vector is much like its passage's, so its passage is most often among the
        best. A graph of the spans did no better (a probe at 100 000 synthetic passages:
        0.918 of the exact search's ten best spans this way, 0.917 through a graph of the
        400 000 spans), and at four million spans such a graph took 56 minutes to build and
        found only 56 % of the ten best even at its highest effort.
        """
        if self._passage_spans is None:
            return self.index.top("spans", query.vector, CANDIDATES)
        order, starts = self._passage_spans
        rows = order[_ranges(starts, np.fromiter(query.passages, dtype=np.int64))]
        return best(rows, self.index.score("spans", query.vector, rows), CANDIDATES)

    def _embed(self, asked: Question) -> Vectors:
        """One model call; a follow-up mixes in earlier turns, weighted toward the newest."""
        context = asked.context[: len(CONTEXT_WEIGHTS)]
        vectors = self.embedder.encode([asked.text, *context])
        mixed = vectors[0] + sum(
            (w * v for w, v in zip(CONTEXT_WEIGHTS, vectors[1:], strict=False)),
            start=np.zeros_like(vectors[0]),
        )
        norm = float(np.linalg.norm(mixed))
        return np.asarray(mixed / norm if norm else mixed, dtype=np.float32)

    @property
    def passages_asked(self) -> int:
        """How many passages a question's passage search asks for: CANDIDATES, or as many as
        the build found the spans' candidates need when the spans are not searched."""
        return self._put_forward or CANDIDATES

    def _query(self, asked: Question, vector: Vectors, faq: list[tuple[FaqEntry, float]]) -> _Query:
        search = partial(self.index.search, "passages", vector, self.passages_asked)
        found = _side_threads().submit(search) if self._side_by_side else None
        words = lexical_words(asked)
        try:
            lexical = self._bm25.ask(words)
            lexical_rows, lexical_scores = lexical.top(CANDIDATES)
            best = float(lexical_scores[0]) if len(lexical_scores) else 0.0
            lifts = self.faq_matcher.lifts(faq, words) if self.weights.faq > 0 else {}
            types = expected_types(asked.text)
        except BaseException:
            if found is not None:  # the question has failed: its passages are not wanted
                found.cancel()
            raise
        passages = dict(found.result() if found is not None else search())
        return _Query(vector, passages, lexical, lexical_rows, best, lifts, types)

    def _rank(
        self, rows: Rows, span_scores: npt.NDArray[np.float32], query: _Query, k: int
    ) -> list[Hit]:
        """The k best candidate spans as hits, best first (ties keep the candidates' order).

        Every candidate is scored in arrays and only the k kept become Hits: making a Hit
        per candidate cost more than the rest of the search.
        """
        store, w = self.index.store, self.weights
        passages = self._span_passage[rows]
        passage_scores = self._passage_scores(query, passages)
        dense = w.span * span_scores.astype(np.float64) + (1 - w.span) * passage_scores
        lexical = self._lexical(query, rows)
        faq = np.zeros(len(rows))
        for row, lifted in query.lifts.items():  # a few entries; candidate rows are distinct
            faq[rows == row] = lifted
        lift = np.maximum(0.0, faq - FAQ_FLOOR) / (1 - FAQ_FLOOR)
        typed = np.zeros(len(rows))
        if w.types and query.types:
            typed = self._typed(rows, query.types).astype(np.float64)
        score = w.dense * dense + w.lexical * lexical + w.faq * lift + w.types * typed
        kept = np.argsort(-score, kind="stable")[:k]
        spans, all_passages = store.spans, store.passages
        return [
            Hit(spans[row], all_passages[passage], *values)
            for row, passage, *values in zip(
                rows[kept].tolist(),
                passages[kept].tolist(),
                score[kept].tolist(),
                dense[kept].tolist(),
                lexical[kept].tolist(),
                faq[kept].tolist(),
                strict=True,
            )
        ]

    def _passage_scores(self, query: _Query, passages: Rows) -> npt.NDArray[np.float64]:
        """The dense similarity of each passage: found by the passage search, or, for a
        candidate span's passage it did not put forward, computed from the stored vector.

        An approximate passage search finds a question's ten best passages but not always its
        200 best (at 100 000 synthetic passages, at the effort chosen for the ten, 61 % of the
        200): a span of a passage it missed, given the 200th passage's score instead, would
        lose places it should have."""
        rows = passages.tolist()
        scores = [query.passages.get(p) for p in rows]
        if None in scores:  # rare on a small knowledge base: every passage is put forward
            missing = sorted({p for p, score in zip(rows, scores, strict=True) if score is None})
            more = self.index.score("passages", query.vector, missing)
            found = query.passages | dict(zip(missing, more.tolist(), strict=True))
            scores = [found[p] for p in rows]
        return np.array(scores, dtype=np.float64)

    def _lexical(self, query: _Query, rows: Rows) -> npt.NDArray[np.float64]:
        """Each row's BM25 score scaled to 0..1 by the best span's (all zeros when no span
        matches the words)."""
        if query.lexical_best <= 0:
            return np.zeros(len(rows))
        scores = query.lexical.scores_of(rows)
        return (scores / query.lexical_best).astype(np.float64)

    def _typed(self, rows: Rows, types: list[str]) -> npt.NDArray[np.bool_]:
        """Whether each span holds every answer type asked for."""
        holds = np.ones(len(rows), dtype=bool)
        for name in types:
            mask = self._type_masks.get(name)
            holds &= mask[rows] if mask is not None else False
        return holds


def _new_side_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SIDE_THREADS, thread_name_prefix="passage-search")


# made with the module, so threads asking at once cannot make two; no thread starts until used
_side = _new_side_threads()


def _side_threads() -> ThreadPoolExecutor:
    """The process's threads for passage searches run beside BM25."""
    return _side


def _after_fork() -> None:
    """A forked child has none of its parent's threads: it gets its own pool."""
    global _side
    _side = _new_side_threads()


os.register_at_fork(after_in_child=_after_fork)


def _ranges(starts: Rows, groups: Rows) -> Rows:
    """The positions ``starts[g]`` up to ``starts[g + 1]`` of each group in ``groups``, in
    order: one array, with no Python loop over the groups (there may be 1 600)."""
    return ranges(starts[groups], starts[groups + 1])


def _spans_by_passage(span_passage: Rows, passages: int) -> tuple[Rows, Rows]:
    """Span rows grouped by passage: passage ``p``'s are ``order[starts[p]:starts[p + 1]]``,
    ascending. (Spans are stored passage by passage, but an FAQ quote that is no span of its
    own is added at the end.)"""
    order = np.argsort(span_passage, kind="stable")
    starts = np.searchsorted(span_passage[order], np.arange(passages + 1))
    return order, starts
