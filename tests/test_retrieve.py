import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import bot.retrieve as bot_retrieve
from bot import builder
from bot.builder import build_index
from bot.effort import RECALL_PROBES, RECALL_TARGET, probe_queries
from bot.index import load_index
from bot.knowledge import load_knowledge
from bot.models import Question
from bot.postings import best as _best
from bot.retrieve import (
    CANDIDATES,
    MODES,
    Retriever,
    _ranges,
    _spans_by_passage,
    lexical_words,
)
from bot.service import Bot
from bot.vectors import EXACT_MAX
from tests.conftest import ROOT, FakeEmbedder


def test_a_candidate_spans_passage_the_passage_search_missed_gets_its_own_similarity(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with only two passages put forward, most candidate spans' passages were not: each hit's
    # dense score must still blend its span's and its own passage's similarity
    monkeypatch.setattr(bot_retrieve, "CANDIDATES", 2)
    retriever = Retriever(bot.index, bot.embedder, replace(MODES["final"], spelling=False))
    store = bot.index.store
    assert len(store.passages) > 2
    question = "how many patients had no relapses after the transplant"
    vector = retriever._embed(Question(question))
    hits = retriever.search(question).hits
    passages = {store.spans.index(h.span): h.span.passage_index for h in hits}
    assert len(set(passages.values())) > 2  # some passages were not among the two
    for hit in hits:
        row = store.spans.index(hit.span)
        span = float(bot.index.score("spans", vector, [row])[0])
        passage = float(bot.index.score("passages", vector, [hit.span.passage_index])[0])
        share = retriever.weights.span
        assert hit.dense == pytest.approx(share * span + (1 - share) * passage, abs=1e-6)


def test_spans_not_searched_are_found_among_their_passages_spans(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    knowledge = load_knowledge(knowledge_dir)
    built = {}
    for name, exact_max in (("flat", EXACT_MAX), ("graph", 0)):
        folder = tmp_path / name
        build_index(
            folder, knowledge, fake_embedder.name, lambda: fake_embedder, exact_max=exact_max
        )
        built[name] = Retriever(load_index(folder, fake_embedder.name), fake_embedder)
    assert built["graph"]._passage_spans is not None and built["flat"]._passage_spans is None
    for question in ["stem cell transplant results", "how many patients relapsed", "side effects"]:
        # every passage is a candidate in so small a knowledge base: so is every span, with
        # the same scores (the fake embedder's ties may come in another order)
        exact, through = (built[name].search(question).hits for name in ("flat", "graph"))
        assert len(exact) == len(through) > 5
        assert {h.span: h.score for h in through} == pytest.approx(
            {h.span: h.score for h in exact}, abs=1e-6
        )
        assert [h.score for h in through] == pytest.approx([h.score for h in exact], abs=1e-6)


def test_candidate_spans_come_from_the_passages_put_forward(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot_retrieve, "CANDIDATES", 2)
    retriever = Retriever(bot.index, bot.embedder)
    retriever._passage_spans = _spans_by_passage(
        retriever._span_passage, len(bot.index.store.passages)
    )
    vector = retriever._embed(Question("stem cell transplant results"))
    query = retriever._query(Question("stem cell transplant results"), vector, [])
    rows, scores = retriever._span_candidates(query)
    spans = bot.index.store.spans
    assert len(query.passages) == 2 and 0 < len(rows) <= 2
    # the best two of the spans of the two passages, best first
    among = [r for r, s in enumerate(spans) if s.passage_index in query.passages]
    expected = sorted(among, key=lambda r: -float(bot.index.score("spans", vector, [r])[0]))[:2]
    assert rows.tolist() == expected
    assert scores.tolist() == pytest.approx(bot.index.score("spans", vector, expected).tolist())


def test_span_rows_are_grouped_by_passage_even_when_out_of_order() -> None:
    # an FAQ quote that is no span of its own is stored last, whatever its passage
    order, starts = _spans_by_passage(np.array([0, 0, 1, 2, 2, 0, 1]), 4)
    groups = [order[starts[p] : starts[p + 1]].tolist() for p in range(4)]
    assert groups == [[0, 1, 5], [2, 6], [3, 4], []]


def test_the_builds_recall_through_passages_is_what_the_retriever_keeps(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest's recall of spans found through the passages is the share of each probe's
    ten closest spans that the retriever's own span candidates hold (few passages put forward,
    so some are missed)."""
    # the build may put forward 3 passages and no more (the retriever's CANDIDATES also caps
    # the spans kept, which must stay above ten)
    monkeypatch.setattr(builder, "CANDIDATES", 3)
    monkeypatch.setattr(builder, "PASSAGES_MAX", 3)
    knowledge = load_knowledge(ROOT / "knowledge")  # 23 passages: 3 leave some out
    build_index(tmp_path, knowledge, fake_embedder.name, lambda: fake_embedder, exact_max=0)
    loaded = load_index(tmp_path, fake_embedder.name)
    retriever = Retriever(loaded, fake_embedder)
    assert retriever._put_forward == loaded.manifest["vector_index"]["spans"]["passages"] == 3
    assert retriever.passages_asked == 3
    spans = loaded.vectors["spans"]
    vectors = spans.vectors(range(spans.ntotal))
    kept = []
    for point in probe_queries(vectors, RECALL_PROBES):
        closest = np.argsort(-(vectors @ point), kind="stable")[:10]
        passages = dict(loaded.search("passages", point, retriever._put_forward))
        rows, _ = retriever._span_candidates(SimpleNamespace(vector=point, passages=passages))
        kept.append(np.isin(closest, rows).mean())
    recall = loaded.manifest["vector_index"]["spans"]["recall_at_10"]
    # within 0.01: the fake embedder's tied scores may be ordered otherwise by faiss
    assert 0.3 < recall < 0.95 and recall == pytest.approx(np.mean(kept), abs=0.01)


def test_the_build_puts_forward_as_many_passages_as_the_target_needs(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # from 3 passages, doubling, then bisecting back: 3 miss the target (above), all 23 meet it
    monkeypatch.setattr(builder, "CANDIDATES", 3)
    monkeypatch.setattr(builder, "PASSAGES_MAX", 48)
    knowledge = load_knowledge(ROOT / "knowledge")
    build_index(tmp_path, knowledge, fake_embedder.name, lambda: fake_embedder, exact_max=0)
    loaded = load_index(tmp_path, fake_embedder.name)
    spec = loaded.manifest["vector_index"]["spans"]
    assert 3 < spec["passages"] <= 24 and spec["recall_at_10"] >= RECALL_TARGET
    # the retriever searches as many as the manifest says (not CANDIDATES: 200, all 23 here)
    spec["passages"] = 5
    retriever = Retriever(loaded, fake_embedder)
    question = Question("stem cell transplant results")
    query = retriever._query(question, retriever._embed(question), [])
    assert len(query.passages) == 5


def test_a_flat_searched_knowledge_base_puts_forward_candidates_passages(bot: Bot) -> None:
    retriever = Retriever(bot.index, bot.embedder)
    assert retriever._put_forward is None and "passages" not in bot.index.vectors["spans"].spec
    assert retriever.passages_asked == CANDIDATES


def test_bm25_is_asked_with_the_message_twice_and_the_newest_earlier_turn_once() -> None:
    asked = Question("and the risks?", ("what is ahsct", "is it safe"))
    assert lexical_words(asked) == "and the risks? and the risks? what is ahsct"
    assert lexical_words(Question("fever")) == "fever fever"


def test_the_best_candidates_are_kept_best_first_ties_by_row() -> None:
    rng = np.random.default_rng(0)
    scores = rng.choice(np.array([0.1, 0.2, 0.3, 0.5], dtype=np.float32), size=400)
    rows = rng.permutation(1000)[:400].astype(np.int64)
    for k in (1, 50, 399, 400, 500):
        order = sorted(range(400), key=lambda i: (-scores[i], rows[i]))[:k]
        got_rows, got_scores = _best(rows, scores, k)
        assert got_rows.tolist() == rows[order].tolist()
        assert got_scores.tolist() == scores[order].tolist()


def test_nan_scores_rank_last_among_the_best_candidates() -> None:
    scores = np.array([0.5, np.nan, 0.2, np.nan, 0.9, np.nan], dtype=np.float32)
    rows = np.arange(6, dtype=np.int64)
    for k in range(1, 7):  # as a full lexsort of all six orders them
        assert _best(rows, scores, k)[0].tolist() == [4, 0, 2, 1, 3, 5][:k]


def test_ranges_join_each_groups_positions_in_the_order_asked() -> None:
    starts = np.array([0, 3, 3, 5, 9])  # group 1 is empty
    assert _ranges(starts, np.array([3, 0, 1, 2])).tolist() == [5, 6, 7, 8, 0, 1, 2, 3, 4]
    assert _ranges(starts, np.array([1])).tolist() == []
    assert _ranges(starts, np.zeros(0, dtype=np.int64)).tolist() == []


def test_from_side_by_side_min_the_passage_search_runs_beside_bm25_with_the_same_results(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["how many patients had no relapses", "side effects of the transplant", "work"]
    alone = Retriever(bot.index, bot.embedder)
    assert not alone._side_by_side  # the tiny knowledge is far below SIDE_BY_SIDE_MIN
    monkeypatch.setattr(bot_retrieve, "SIDE_BY_SIDE_MIN", len(bot.index.store.passages))
    beside = Retriever(bot.index, bot.embedder)
    searched_in: list[str] = []
    search = bot.index.search

    def recorded(kind: str, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if kind == "passages":
            searched_in.append(threading.current_thread().name)
        return search(kind, vector, k)

    monkeypatch.setattr(bot.index, "search", recorded)
    for question in questions:
        assert beside.search(question) == alone.search(question)
    assert len(searched_in) == 2 * len(questions)
    assert all(name.startswith("passage-search") for name in searched_in[::2])
    assert searched_in[1::2] == [threading.current_thread().name] * len(questions)


def test_questions_searched_at_once_side_by_side_get_what_they_get_alone(
    knowledge_dir: Path,
    tmp_path: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through a graph of the passages and spans found among theirs, as at scale; eight
    threads at once share the process's four side threads (none made per retriever)."""
    knowledge = load_knowledge(knowledge_dir)
    build_index(tmp_path, knowledge, fake_embedder.name, lambda: fake_embedder, exact_max=0)
    index = load_index(tmp_path, fake_embedder.name)
    questions = ["stem cell transplant results", "how many patients relapsed", "side effects"]
    alone = Retriever(index, fake_embedder)
    expected = {q: alone.search(q) for q in questions}
    monkeypatch.setattr(bot_retrieve, "SIDE_BY_SIDE_MIN", 0)
    beside = [Retriever(index, fake_embedder) for _ in range(8)]
    assert beside[0]._passage_spans is not None and beside[0]._side_by_side
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda r: {q: r.search(q) for q in questions * 5}, beside))
    assert all(answers == expected for answers in found)
    side = [t for t in threading.enumerate() if t.name.startswith("passage-search")]
    assert 0 < len(side) <= bot_retrieve.SIDE_THREADS


def test_a_failed_passage_search_beside_bm25_fails_the_question(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot_retrieve, "SIDE_BY_SIDE_MIN", 0)
    beside = Retriever(bot.index, bot.embedder)
    failed_in: list[str] = []

    def broken(kind: str, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        failed_in.append(threading.current_thread().name)
        raise RuntimeError(f"{kind} index unreadable")

    monkeypatch.setattr(bot.index, "search", broken)
    with pytest.raises(RuntimeError, match="passages index unreadable"):
        beside.search("side effects")
    assert len(failed_in) == 1 and failed_in[0].startswith("passage-search")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_makes_its_own_side_threads() -> None:
    parent = bot_retrieve._side_threads()
    assert bot_retrieve._side_threads() is parent  # one pool for every retriever
    child = os.fork()
    if child == 0:  # the child: its pool must be new and must run work; never back into pytest
        code = 1
        try:
            fresh = bot_retrieve._side_threads()
            code = 0 if fresh is not parent and fresh.submit(lambda: 1).result(timeout=10) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_failed_bm25_beside_the_passage_search_fails_the_question(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot_retrieve, "SIDE_BY_SIDE_MIN", 0)
    beside = Retriever(bot.index, bot.embedder)

    def broken(words: str) -> None:
        raise RuntimeError("BM25 unreadable")

    monkeypatch.setattr(beside._bm25, "ask", broken)
    with pytest.raises(RuntimeError, match="BM25 unreadable"):
        beside.search("side effects")
