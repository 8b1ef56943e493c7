import re

import pytest

from bot import scale_search, scale_table
from bot.retrieve import Retriever
from bot.service import Bot


def test_whole_search_is_timed_exactly_and_through_the_chosen_indexes() -> None:
    # 1500 passages, 6000 spans: passages through a graph, spans not searched (the spans of
    # the best passages are scored)
    rows = scale_search.measure_search(1500, queries=20, exact_max=1000)
    exact, chosen, bm25, passages = rows
    assert exact.what == "whole search, 4 spans a passage: exact"
    assert exact.build_s is None and exact.note == "the same vectors, flat"
    assert chosen.what == "whole search, 4 spans a passage: chosen"
    assert chosen.note.startswith(
        "passages HNSW M 32, efConstruction 80, over 8-bit codes, re-scored exactly, efSearch"
    )
    spans = "; spans flat, not searched (candidates: the spans of "
    assert spans in chosen.note and chosen.note.endswith(")")
    assert " passages the passages' search puts forward; probe recall " in chosen.note
    assert chosen.build_s and chosen.build_s > 0
    assert 0.8 <= (chosen.recall_at_10 or 0) <= 1.0
    assert all(r.p50_ms > 0 and r.p95_ms >= r.p50_ms for r in rows)
    table = scale_table.markdown(rows)
    assert "| 1,500 | whole search, 4 spans a passage: exact |  |  | 1.000 |" in table
    # its two big parts alone, as the whole search asks them: as many passages as it puts forward
    assert bm25.what == "whole search, 4 spans a passage: its BM25 alone"
    assert bm25.note == "the 200 best of 6,000 spans, exact"
    assert passages.what == "whole search, 4 spans a passage: its passage search alone"
    forward = re.search(r"the spans of (\d+) passages", chosen.note)
    assert forward and passages.note == f"{forward[1]} passages asked for"
    for part in (bm25, passages):
        assert (part.build_s, part.memory_mb, part.recall_at_10) == (None, None, None)
        assert part.p50_ms > 0 and part.p95_ms >= part.p50_ms


def test_whole_search_through_exact_indexes_recalls_everything() -> None:
    # under the threshold every kind is flat: both searches are the same, question by question
    rows = scale_search.measure_search(1000, queries=10, per_passage=2, exact_max=10_000)
    _, chosen, _, passages = rows
    assert chosen.note == "passages flat; spans flat" and chosen.recall_at_10 == 1.0
    assert passages.note == "200 passages asked for"  # CANDIDATES when the spans are searched


def test_whole_search_on_fewer_questions_says_so_and_pairs_them() -> None:
    # every kind flat: the two searches agree exactly, question by question, if paired right
    rows = scale_search.measure_search(
        1000, queries=12, per_passage=2, exact_max=10_000, compared=5
    )
    exact, chosen, _, _ = rows
    assert exact.note == "the same vectors, flat; 5 of the 12 questions"
    assert chosen.note == "passages flat; spans flat; recall over 5 questions"
    assert chosen.recall_at_10 == 1.0


def test_the_parts_are_asked_what_the_whole_search_asks(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BM25 gets the same (spelling-corrected) words and the passage search the same count as
    in the whole search; the count is the retriever's, not CANDIDATES."""
    retriever = Retriever(bot.index, bot.embedder)
    retriever._put_forward = 7  # as if the build had put forward 7 passages
    index, calls = retriever.index, []
    search, ask = index.search, index.lexical.ask

    def searched(kind: str, vector: object, k: int) -> object:
        calls.append(("search", kind, k))
        return search(kind, vector, k)  # type: ignore[arg-type]

    def asked(words: str) -> object:
        calls.append(("ask", words))
        return ask(words)

    monkeypatch.setattr(index, "search", searched)
    monkeypatch.setattr(index.lexical, "ask", asked)
    text = "risks of a tranplant"  # the speller makes it "transplant"
    retriever.search(text)
    whole = set(calls)
    calls.clear()
    vector = retriever._embed(retriever.corrected(text))
    scale_search._parts(23, "whole", retriever, vector.reshape(1, -1), [text])
    words = "risks of a transplant risks of a transplant"
    assert set(calls) == {("search", "passages", 7), ("ask", words)}
    assert set(calls) <= whole
