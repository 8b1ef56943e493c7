"""The whole-search scale benchmark (``faqbot scale --whole``):
:meth:`bot.retrieve.Retriever.search` over a synthetic knowledge base of any size, what a
question costs apart from the model: both vector searches (passages and spans), BM25, the FAQ
search and the ranking.

It builds in memory what ``faqbot build`` would save for a knowledge base of that many passages
(an index per unit kind, chosen by size as the build would; BM25 over the spans; a spelling
vocabulary), from :mod:`bot.synthetic` data: passages with its clustered vectors;
``SPANS_PER_PASSAGE`` spans each, their vectors around their passage's, each with its own
25-word text; FAQ entries of one phrasing each, quoting random spans. The one source's body is
blanks, as long as a passage (so the store's offsets are valid); the search never reads it.
Each question's vector is set, not embedded (``faqbot bench`` times the model). Synthetic
questions are never close enough to an FAQ phrasing to lift its quote: the FAQ is searched and
matched, but the ranking never applies a lift.

The same knowledge base is searched through the indexes the build would choose and through
exact search of the same vectors; recall@10 is the share of the exact search's ten best spans
that the chosen indexes' search also ranks in its ten. Two more rows time the parts that take
most of a whole search's time at scale, each alone over the same questions, as the search asks
them: BM25's best spans, and the passage search (as many passages as it puts forward). They run
one after the other below SIDE_BY_SIDE_MIN passages and side by side from it, and the rest
(scoring the candidate spans, the FAQ, ranking) adds to them. *build s* is the building alone
(BM25, the three vector indexes, the store and, as the build does, how many passages the spans are
found through and the recall that gives), not generating the data; *memory* is how much resident
memory grew while the knowledge base was generated and built (leftovers of the generated texts
and of tokenising them included; the peak while building is higher: the span vectors and their
index are held together for a while).
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.embed import Vectors
from bot.index import SEARCHED, LoadedIndex
from bot.lexical import Bm25
from bot.models import FaqEntry, Question, Source, Span
from bot.retrieve import CANDIDATES, PASSAGES_MAX, Retriever, lexical_words
from bot.scale_table import Row, Stopwatch, describe, latencies, rss_mb
from bot.store import Store
from bot.synthetic import (
    DIMENSION,
    VOCABULARY,
    WORDS_PER_QUERY,
    WORDS_PER_TEXT,
    cluster_centres,
    span_vectors_around,
    synthetic_texts,
    synthetic_vectors,
)
from bot.tables import PassageTable, SourceTable, SpanTable
from bot.vectors import EXACT_MAX, build_vector_index, through_candidates

#: Spans per passage (the seed corpus has 95 spans over 23 passages), FAQ entries (its FAQ has
#: 231 phrasings)
SPANS_PER_PASSAGE = 4
FAQ_ENTRIES = 230
SOURCE = "synthetic"
#: Above this many vectors (passages and spans together) an exact whole search takes most of
#: a second a question, so it is run, and recall measured, on at most EXACT_WHOLE_QUESTIONS
#: (at a million passages, 0.75 s each: 200 take 2.5 minutes; the first 50 of 200 gave
#: recall 0.948 where all 200 gave 0.931, so fewer would flatter it)
EXACT_WHOLE_MAX = 500_000
EXACT_WHOLE_QUESTIONS = 200


@dataclass
class _Preset:
    """An embedder that answers every ``encode`` with the vector set for the next question."""

    vector: Vectors
    name: str = "preset"
    dimension: int = DIMENSION

    def encode(self, texts: list[str], progress: bool = False) -> Vectors:
        """The preset vector, once per text."""
        return np.repeat(self.vector.reshape(1, -1), len(texts), axis=0)


def _store(size: int, per_passage: int, faq_texts: list[str], rng: np.random.Generator) -> Store:
    """Passages and spans with no text of their own, and FAQ entries quoting random spans."""
    source = Source(id=SOURCE, title="Synthetic", body=" " * per_passage, path="synthetic.md")
    # every passage the whole body of the one source, under no heading, its sentences the
    # body's characters, each its own; each span one of them: a distinct (passage, j), so the
    # exact and approximate hits compare as spans
    owner, j = np.divmod(np.arange(size * per_passage, dtype=np.int64), per_passage)
    first = np.arange(size, dtype=np.int64) * per_passage
    zero = np.zeros(size, dtype=np.int64)
    rows = np.column_stack([zero, zero, zero, zero + per_passage, first, first + per_passage])
    sentences = np.column_stack([j, j + 1])
    passages = PassageTable([f"p{i}" for i in range(size)], [SOURCE], [()], rows, sentences)
    spans = SpanTable(np.column_stack([owner, j, j, j, j + 1]))
    faq = tuple(FaqEntry(f"f{i}", text, (), SOURCE, 0, 0) for i, text in enumerate(faq_texts))
    quoted = tuple(int(r) for r in rng.integers(0, len(spans), len(faq)))
    return Store(SourceTable.of([source]), passages, spans, faq, quoted, ())


def _index(
    size: int, per_passage: int, exact_max: int, rng: np.random.Generator
) -> tuple[LoadedIndex, npt.NDArray[np.float32], float, str]:
    """The synthetic knowledge base's loaded index, its passages' cluster centres (questions
    are drawn around them), the seconds spent building (not generating), and a note of its
    vector indexes."""
    # BM25 first, and each kind's vectors dropped once indexed: at a million passages the
    # tokenised texts and the span vectors are several GB each
    spans, clock = size * per_passage, Stopwatch()
    texts = synthetic_texts(spans, WORDS_PER_TEXT, rng)
    with clock.stage(f"BM25 over {spans:,} span texts"):
        lexical = Bm25(texts)
    del texts
    centres = cluster_centres(size, rng)
    passage_vectors = synthetic_vectors(size, rng, centres)
    with clock.stage(f"passages: the index the build would choose over {size:,}"):
        indexes = {"passages": build_vector_index(passage_vectors, exact_max, SEARCHED["passages"])}
    span_vectors = span_vectors_around(passage_vectors, per_passage, rng)
    del passage_vectors  # the index holds its own copy
    with clock.stage(f"spans: the index the build would choose over {spans:,}, its recall"):
        indexes["spans"] = build_vector_index(span_vectors, exact_max, SEARCHED["spans"])
        if not indexes["spans"].searched:  # measured as the build measures it
            owners = np.repeat(np.arange(size, dtype=np.int64), per_passage)
            count, recall = through_candidates(
                indexes["passages"], span_vectors, owners, CANDIDATES, PASSAGES_MAX
            )
            indexes["spans"].spec |= {"passages": count, "recall_at_10": recall}
    del span_vectors
    faq_texts = synthetic_texts(FAQ_ENTRIES, WORDS_PER_QUERY, rng)
    faq_vectors = synthetic_vectors(FAQ_ENTRIES, rng, centres)
    with clock.stage(f"the FAQ's index and the store of {spans:,} spans"):
        indexes["faq"] = build_vector_index(faq_vectors, exact_max, SEARCHED["faq"])
        store = _store(size, per_passage, faq_texts, rng)
    vocabulary = [f"w{i}" for i in range(VOCABULARY)]
    loaded = LoadedIndex(store, indexes, lexical, {}, vocabulary, {})
    note = "; ".join(f"{kind} {describe(indexes[kind].spec)}" for kind in ("passages", "spans"))
    return loaded, centres, clock.seconds, note


def _searcher(
    index: LoadedIndex, embedder: _Preset, vectors: Vectors, texts: list[str]
) -> tuple[Retriever, dict[int, list[Span]], Callable[[int], object]]:
    """The retriever, what each question's search ranked in its ten best, by question, and
    the search of question ``i`` that fills it in."""
    retriever, top = Retriever(index, embedder), {}

    def ask(i: int) -> object:
        embedder.vector = vectors[i]
        top[i] = [hit.span for hit in retriever.search(Question(texts[i])).hits[:10]]
        return top[i]

    return retriever, top, ask


def _parts(
    size: int, what: str, retriever: Retriever, vectors: Vectors, texts: list[str]
) -> list[Row]:
    """The two parts of a whole search that take most of its time at scale, each timed alone
    over the same questions as the whole search asks them: BM25's best spans and the passage
    search. Alone, each has the cores and the caches to itself: from SIDE_BY_SIDE_MIN passages
    the search runs them side by side, where they compete for both."""
    index, put_forward = retriever.index, retriever.passages_asked
    words = [lexical_words(retriever.corrected(text)) for text in texts]
    spans = len(index.store.spans)
    lexical = latencies(lambda i: index.lexical.ask(words[i]).top(CANDIDATES), len(texts))
    passages = latencies(lambda i: index.search("passages", vectors[i], put_forward), len(texts))

    def alone(part: str, times: tuple[float, float], note: str) -> Row:
        return Row(size, f"{what}: its {part} alone", None, None, None, *times, note)

    return [
        alone("BM25", lexical, f"the {CANDIDATES} best of {spans:,} spans, exact"),
        alone("passage search", passages, f"{put_forward} passages asked for"),
    ]


def _share(truth: list[Span], found: list[Span]) -> float:
    """The share of ``truth`` that ``found`` also holds (1 when ``truth`` is empty)."""
    return len(set(truth) & set(found)) / len(truth) if truth else 1.0


def measure_search(
    size: int,
    queries: int,
    per_passage: int = SPANS_PER_PASSAGE,
    exact_max: int = EXACT_MAX,
    seed: int = 0,
    compared: int | None = None,
) -> list[Row]:
    """``Retriever.search`` over a synthetic knowledge base of ``size`` passages, through the
    vector indexes the build would choose and through exact search of the same vectors: build
    time and memory of the knowledge base, p50/p95 per question, and recall@10 (the share of
    the exact search's ten best spans that the chosen indexes' search also ranks in its ten);
    then its BM25 and its passage search, each timed alone (two more rows).

    The exact search, and so the recall, covers the first ``compared`` questions: by default
    all of them, or EXACT_WHOLE_QUESTIONS above EXACT_WHOLE_MAX vectors; the notes say so.
    """
    rng = np.random.default_rng(seed)
    before = rss_mb()
    loaded, centres, built, note = _index(size, per_passage, exact_max, rng)
    memory = round(rss_mb() - before)
    vectors = synthetic_vectors(queries, rng, centres)
    texts = synthetic_texts(queries, WORDS_PER_QUERY, rng)
    embedder = _Preset(vectors[0])
    exact = copy.copy(loaded)  # the same knowledge base with every kind searched exactly
    exact.vectors = {kind: index.exact() for kind, index in loaded.vectors.items()}
    if compared is None:
        large = size * (1 + per_passage) > EXACT_WHOLE_MAX
        compared = min(queries, EXACT_WHOLE_QUESTIONS) if large else queries
    _, exact_top, ask_exact = _searcher(exact, embedder, vectors, texts)
    retriever, chosen_top, ask_chosen = _searcher(loaded, embedder, vectors, texts)
    what, counted = f"whole search, {per_passage} spans a passage", ""
    if compared < queries:
        counted = f"; {compared} of the {queries} questions"
    p50, p95 = latencies(ask_exact, compared)
    rows = [
        Row(size, f"{what}: exact", None, None, 1.0, p50, p95, f"the same vectors, flat{counted}")
    ]
    p50, p95 = latencies(ask_chosen, queries)
    recall = statistics.mean(_share(exact_top[i], chosen_top[i]) for i in range(compared))
    note += f"; recall over {compared} questions" if counted else ""
    rows.append(
        Row(size, f"{what}: chosen", round(built, 1), memory, round(recall, 3), p50, p95, note)
    )
    return rows + _parts(size, what, retriever, vectors, texts)
