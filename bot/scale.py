"""Scale benchmark over synthetic knowledge bases of any size: the vector index and BM25
alone, and a whole search.

``faqbot scale --size 100000 --size 1000000`` builds, for each size, what ``faqbot build`` would
build for a corpus that large (:func:`bot.vectors.build_vector_index`, which picks exact search
or HNSW by size, and :class:`bot.lexical.Bm25`) and measures it against exact search. Then it
builds in memory what ``faqbot build`` would save for a knowledge base of that many passages
(an index per unit kind, BM25 over the spans, a spelling vocabulary) and times
:meth:`bot.retrieve.Retriever.search` over it, what a question costs apart from the model:
both vector searches (passages and spans), BM25, the FAQ search and the ranking.

The data are synthetic, and say so:

- *vectors*: ``size / 100`` random cluster centres; each vector is ``0.6 ×`` a centre plus unit
  Gaussian noise, normalised (384 dimensions, like all-MiniLM-L6-v2). Queries are fresh draws
  from the same mixture, so none is in the corpus. Neighbours within a cluster are only weakly
  closer than strangers, which makes this harder for an approximate index than tidy clusters.
- *texts*: 25 words each, drawn from a 50 000-word vocabulary with Zipf-like frequencies (a
  few words everywhere, most rare), as in real text; queries are 6 words drawn the same way.
- *the whole search's knowledge base*: passages with the vectors above; ``SPANS_PER_PASSAGE``
  spans each, a span's vector its passage's plus Gaussian noise of about the same length,
  normalised (a passage's spans lie around it), its text 25 words as above; FAQ entries of one
  phrasing each, quoting random spans. Nothing has a body: the search never reads one. Each
  question's vector is set, not embedded (``faqbot bench`` times the model). Synthetic
  questions are never close enough to an FAQ phrasing to lift its quote: the FAQ is searched
  and matched, but the ranking never applies a lift.

*build s* is the building alone, not the generating of the synthetic data: for the whole search
BM25, the three vector indexes and the store. *memory* is, for a vector index, how much
resident memory grew while it was built (the index; the generated vectors are held apart); for
BM25 the size of its sparse score matrix; for the whole search how much resident memory grew
while its knowledge base was generated and built (leftovers of the generated texts and of
tokenising them included; the peak while building is higher: the span vectors and their index
are held together for a while).

Not part of ``make test``: a million passages take minutes to index on two cores.
"""

from __future__ import annotations

import copy
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

from bot.embed import Vectors
from bot.index import LoadedIndex
from bot.lexical import Bm25
from bot.models import FaqEntry, Passage, Question, Source, Span
from bot.retrieve import CANDIDATES, Retriever
from bot.store import Store
from bot.vectors import EXACT_MAX, build_vector_index, exact_neighbours, recall_at

DIMENSION = 384
VOCABULARY = 50_000
WORDS_PER_TEXT = 25
WORDS_PER_QUERY = 6
#: Whole search: spans per passage (the seed corpus has 95 spans over 23 passages), FAQ
#: entries (its FAQ has 231 phrasings)
SPANS_PER_PASSAGE = 4
FAQ_ENTRIES = 230
SOURCE = "synthetic"
#: Whole search: above this many vectors (passages and spans together) an exact whole search
#: takes about a second a question, so it is run, and recall measured, on fewer questions
EXACT_WHOLE_MAX = 500_000
EXACT_WHOLE_QUESTIONS = 50


@dataclass
class Row:
    """One line of the result table."""

    size: int
    what: str
    build_s: float | None  # None: nothing built of its own
    memory_mb: float | None
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


class _Stopwatch:
    """Adds up the time of the stages run through it (and says what each is, as ``_stage``)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def stage(self, message: str) -> Iterator[None]:
        """Time one stage and add it to the total."""
        started = time.perf_counter()
        with _stage(message):
            yield
        self.seconds += time.perf_counter() - started


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
    centres = _centres(size, rng)
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
    note = _describe(index.spec)
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


@dataclass
class _Preset:
    """An embedder that answers every ``encode`` with the vector set for the next question."""

    vector: Vectors
    name: str = "preset"
    dimension: int = DIMENSION

    def encode(self, texts: list[str], progress: bool = False) -> Vectors:
        """The preset vector, once per text."""
        return np.repeat(self.vector.reshape(1, -1), len(texts), axis=0)


def _span_vectors(
    passages: npt.NDArray[np.float32], per_passage: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """``per_passage`` normalised vectors around each passage vector, passage by passage."""
    out = np.empty((len(passages) * per_passage, passages.shape[1]), dtype=np.float32)
    step = max(1, 100_000 // per_passage)  # in chunks: the noise is as large as the result
    for start in range(0, len(passages), step):
        block = np.repeat(passages[start : start + step], per_passage, axis=0)
        # noise of about the passage vector's length: a span shares much of its passage
        block += rng.standard_normal(block.shape, dtype=np.float32) / np.sqrt(passages.shape[1])
        rows = slice(start * per_passage, start * per_passage + len(block))
        out[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _store(size: int, per_passage: int, faq_texts: list[str], rng: np.random.Generator) -> Store:
    """Passages and spans with no text of their own, and FAQ entries quoting random spans."""
    source = Source(id=SOURCE, title="Synthetic", body="", path="synthetic.md")
    passages = tuple(Passage(f"p{i}", SOURCE, (), 0, 0, ()) for i in range(size))
    # each span a distinct (passage, j), so the exact and approximate hits compare as spans
    spans = tuple(Span(p, j, j, j, j + 1) for p in range(size) for j in range(per_passage))
    faq = tuple(FaqEntry(f"f{i}", text, (), SOURCE, 0, 0) for i, text in enumerate(faq_texts))
    quoted = tuple(int(r) for r in rng.integers(0, len(spans), len(faq)))
    return Store({SOURCE: source}, passages, spans, faq, quoted, ())


def _centres(size: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """The cluster centres of a synthetic corpus of ``size`` vectors: one per hundred."""
    return rng.standard_normal((max(1, size // 100), DIMENSION)).astype(np.float32)


def _index(
    size: int, per_passage: int, exact_max: int, rng: np.random.Generator
) -> tuple[LoadedIndex, npt.NDArray[np.float32], float, str]:
    """The synthetic knowledge base's loaded index, its passages' cluster centres (questions
    are drawn around them), the seconds spent building (not generating), and a note of its
    vector indexes."""
    # BM25 first, and each kind's vectors dropped once indexed: at a million passages the
    # tokenised texts and the span vectors are several GB each
    spans, clock = size * per_passage, _Stopwatch()
    texts = synthetic_texts(spans, WORDS_PER_TEXT, rng)
    with clock.stage(f"BM25 over {spans:,} span texts"):
        lexical = Bm25(texts)
    del texts
    centres = _centres(size, rng)
    passage_vectors = synthetic_vectors(size, rng, centres)
    with clock.stage(f"passages: the index the build would choose over {size:,}"):
        indexes = {"passages": build_vector_index(passage_vectors, exact_max)}
    span_vectors = _span_vectors(passage_vectors, per_passage, rng)
    del passage_vectors  # the index holds its own copy
    with clock.stage(f"spans: the index the build would choose over {spans:,}"):
        indexes["spans"] = build_vector_index(span_vectors, exact_max)
    del span_vectors
    faq_texts = synthetic_texts(FAQ_ENTRIES, WORDS_PER_QUERY, rng)
    faq_vectors = synthetic_vectors(FAQ_ENTRIES, rng, centres)
    with clock.stage(f"the FAQ's index and the store of {spans:,} spans"):
        indexes["faq"] = build_vector_index(faq_vectors, exact_max)
        store = _store(size, per_passage, faq_texts, rng)
    vocabulary = [f"w{i}" for i in range(VOCABULARY)]
    loaded = LoadedIndex(store, indexes, lexical, {}, vocabulary, {})
    note = "; ".join(f"{kind} {_describe(indexes[kind].spec)}" for kind in ("passages", "spans"))
    return loaded, centres, clock.seconds, note


def _describe(spec: dict[str, Any]) -> str:
    """An index spec as the table's note: ``flat``, or the graph's parameters and recall."""
    if spec["type"] == "flat":
        return "flat"
    return (
        f"HNSW M {spec['M']}, efConstruction {spec['ef_construction']}, "
        f"efSearch {spec['ef_search']} (probe recall {spec['recall_at_10']})"
    )


def _searcher(
    index: LoadedIndex, embedder: _Preset, vectors: Vectors, texts: list[str]
) -> tuple[dict[int, list[Span]], Callable[[int], object]]:
    """What each question's search ranked in its ten best, by question, and the search of
    question ``i`` that fills it in."""
    retriever, top = Retriever(index, embedder), {}

    def ask(i: int) -> object:
        embedder.vector = vectors[i]
        top[i] = [hit.span for hit in retriever.search(Question(texts[i])).hits[:10]]
        return top[i]

    return top, ask


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
    the exact search's ten best spans that the chosen indexes' search also ranks in its ten).

    The exact search, and so the recall, covers the first ``compared`` questions: by default
    all of them, or EXACT_WHOLE_QUESTIONS above EXACT_WHOLE_MAX vectors; the notes say so.
    """
    rng = np.random.default_rng(seed)
    before = _rss_mb()
    loaded, centres, built, note = _index(size, per_passage, exact_max, rng)
    memory = round(_rss_mb() - before)
    vectors = synthetic_vectors(queries, rng, centres)
    texts = synthetic_texts(queries, WORDS_PER_QUERY, rng)
    embedder = _Preset(vectors[0])
    exact = copy.copy(loaded)  # the same knowledge base with every kind searched exactly
    exact.vectors = {kind: index.exact() for kind, index in loaded.vectors.items()}
    if compared is None:
        large = size * (1 + per_passage) > EXACT_WHOLE_MAX
        compared = min(queries, EXACT_WHOLE_QUESTIONS) if large else queries
    exact_top, ask_exact = _searcher(exact, embedder, vectors, texts)
    chosen_top, ask_chosen = _searcher(loaded, embedder, vectors, texts)
    what, counted = f"whole search, {per_passage} spans a passage", ""
    if compared < queries:
        counted = f"; {compared} of the {queries} questions"
    p50, p95 = _latencies(ask_exact, compared)
    rows = [
        Row(size, f"{what}: exact", None, None, 1.0, p50, p95, f"the same vectors, flat{counted}")
    ]
    p50, p95 = _latencies(ask_chosen, queries)
    recall = statistics.mean(_share(exact_top[i], chosen_top[i]) for i in range(compared))
    note += f"; recall over {compared} questions" if counted else ""
    rows.append(
        Row(size, f"{what}: chosen", round(built, 1), memory, round(recall, 3), p50, p95, note)
    )
    return rows


def run_scale(
    sizes: list[int],
    queries: int = 200,
    exact_max: int = EXACT_MAX,
    seed: int = 0,
    whole: bool = False,
) -> list[Row]:
    """Every measure for every size, smallest first; the whole search only when ``whole``."""
    rows: list[Row] = []
    for size in sorted(sizes):
        rows += measure_vectors(size, queries, exact_max, seed)
        rows.append(measure_bm25(size, queries, seed))
        if whole:
            rows += measure_search(size, queries, exact_max=exact_max, seed=seed)
    return rows


def markdown(rows: list[Row]) -> str:
    """The rows as the Markdown table README keeps."""
    lines = [
        "| passages | what | build s | memory MB | recall@10 | p50 ms | p95 ms | index |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        recall = "" if r.recall_at_10 is None else f"{r.recall_at_10:.3f}"
        built = "" if r.build_s is None else r.build_s
        memory = "" if r.memory_mb is None else f"{r.memory_mb:g}"
        lines.append(
            f"| {r.size:,} | {r.what} | {built} | {memory} | {recall} | "
            f"{r.p50_ms} | {r.p95_ms} | {r.note} |"
        )
    return "\n".join(lines)


def as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as plain dictionaries (for ``--json``)."""
    return [vars(r) for r in rows]
