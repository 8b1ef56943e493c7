import re

from bot import scale_search, scale_table


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
    assert (bm25.build_s, bm25.memory_mb, bm25.recall_at_10) == (None, None, None)


def test_whole_search_through_exact_indexes_recalls_everything() -> None:
    # under the threshold every kind is flat: both searches are the same, question by question
    rows = scale_search.measure_search(1000, queries=10, per_passage=2, exact_max=10_000)
    assert rows[1].note == "passages flat; spans flat" and rows[1].recall_at_10 == 1.0
    assert rows[3].note == "200 passages asked for"  # CANDIDATES when the spans are searched


def test_whole_search_on_fewer_questions_says_so_and_pairs_them() -> None:
    # every kind flat: the two searches agree exactly, question by question, if paired right
    rows = scale_search.measure_search(
        1000, queries=12, per_passage=2, exact_max=10_000, compared=5
    )
    exact, chosen = rows[:2]
    assert exact.note == "the same vectors, flat; 5 of the 12 questions"
    assert chosen.note == "passages flat; spans flat; recall over 5 questions"
    assert chosen.recall_at_10 == 1.0
