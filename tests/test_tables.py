import numpy as np
import pytest

from bot import tables
from bot.models import Passage, Sentence, Span
from bot.tables import PassageTable, SpanTable

PASSAGES = (
    Passage("a-p01", "a", ("Intro",), 0, 40, (Sentence(0, 20), Sentence(21, 40))),
    Passage("a-p02", "a", ("Intro", "More"), 42, 60, (Sentence(42, 60),)),
    Passage("b-p01", "b", ("Intro",), 0, 10, ()),
)
SPANS = [Span(0, 0, 0, 0, 20), Span(0, 0, 1, 0, 40), Span(1, 0, 0, 42, 60)]


def test_a_passage_table_gives_back_the_passages_it_was_made_of() -> None:
    table = PassageTable.of(PASSAGES)
    assert len(table) == 3 and tuple(table) == PASSAGES
    assert table.sources == ("a", "b") and table.headings == (("Intro",), ("Intro", "More"))
    assert table.source_rows().tolist() == [0, 0, 1]
    assert table[-1] == PASSAGES[-1] and table[1:] == PASSAGES[1:]
    assert table[0] is table[0]  # made once, then kept
    with pytest.raises(IndexError):
        table[3]
    assert table == PassageTable.of(PASSAGES) and table != PassageTable.of(PASSAGES[:2])


def test_a_span_table_gives_back_the_spans_it_was_made_of() -> None:
    table = SpanTable.of(SPANS)
    assert len(table) == 3 and list(table) == SPANS and table[2] == SPANS[2]
    assert table[1] is table[1]
    assert list(table[1:]) == SPANS[1:] and table.index(SPANS[2]) == 2
    with pytest.raises(IndexError):
        table[3]
    assert table == SpanTable.of(SPANS) and table != SpanTable.of(SPANS[:2])
    assert len(SpanTable.of([])) == 0 and SpanTable.of([]).rows.shape == (0, 5)


def test_tables_are_read_only() -> None:
    for rows in (SpanTable.of(SPANS).rows, PassageTable.of(PASSAGES).rows):
        with pytest.raises(ValueError, match="read-only"):
            rows[0, 0] = 1


def test_rows_that_point_outside_the_table_are_refused() -> None:
    good = PassageTable.of(PASSAGES)
    rows, sentences = good.rows.copy(), good.sentences
    for column, value, fault in (
        (0, 2, "column 0 outside 0..1"),
        (1, -1, "column 1 outside 0..1"),
        (4, 9, "column 4 outside 0..3"),
        (5, 4, "column 5 outside 0..3"),
        (3, -5, "ends before it starts"),
    ):
        changed = rows.copy()
        changed[0, column] = value
        with pytest.raises(ValueError, match=fault):
            PassageTable(good.ids, good.sources, good.headings, changed, sentences)
    with pytest.raises(ValueError, match="2 ids for 3 rows"):
        PassageTable(good.ids[:2], good.sources, good.headings, rows, sentences)
    with pytest.raises(ValueError, match="rows of 5 integers"):
        SpanTable(np.zeros((2, 4)))


def test_a_row_counted_back_is_the_same_row_and_few_objects_are_kept() -> None:
    table = SpanTable([[0, 0, 0, i, i + 1] for i in range(tables.KEPT + 10)])
    assert table[-1] is table[len(table) - 1] and table[np.int64(3)] is table[3]
    for bad in (len(table), -len(table) - 1):
        with pytest.raises(IndexError):
            table[bad]
    with pytest.raises(TypeError):
        table[1.0]  # type: ignore[call-overload]
    assert [table[i].start for i in range(len(table))] == list(range(len(table)))
    assert table._kept.cache_info().currsize == tables.KEPT  # the most recent only
    passages = PassageTable.of(PASSAGES)
    assert passages[-3] is passages[0] and list(passages) == list(PASSAGES)
