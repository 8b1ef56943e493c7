import gc
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bot import tables
from bot.models import Passage, Sentence, Source, Span
from bot.tables import KEPT_SOURCES, PassageTable, SourceTable, SpanTable

PASSAGES = (
    Passage("a-p01", "a", ("Intro",), 0, 40, (Sentence(0, 20), Sentence(21, 40))),
    Passage("a-p02", "a", ("Intro", "More"), 42, 60, (Sentence(42, 60),)),
    Passage("b-p01", "b", ("Intro",), 0, 10, ()),
)
SPANS = [Span(0, 0, 0, 0, 20), Span(0, 0, 1, 0, 40), Span(1, 0, 0, 42, 60)]
SOURCES = (
    Source("a", "A", "Plain ASCII.", "a.md"),
    Source("b", "B", "What’s new? Café – naïve 🧪.", "b.md", audience="staff"),
    Source("c", "C", "", "c.md"),
)


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


def test_a_source_table_gives_back_each_body_decoded_only_when_asked_for() -> None:
    table = SourceTable.of(SOURCES)
    assert list(table) == ["a", "b", "c"] and len(table) == 3
    assert "b" in table and "d" not in table
    table.lengths(["a", "b"])
    table.without_bodies()
    assert table._kept.cache_info().currsize == 0  # none of that decoded a body
    assert [table[s.id] for s in SOURCES] == list(SOURCES)  # non-ASCII and empty bodies too
    assert table["b"] is table["b"]  # decoded once, then kept
    # offsets count characters, not bytes: the checks need each body's, without decoding it
    assert table.lengths(["b", "a", "b"]).tolist() == [27, 12, 27]
    assert len(SOURCES[1].body.encode()) == 36
    assert [s.audience for s in table.without_bodies()] == ["public", "staff", "public"]
    assert all(s.body == "" for s in table.without_bodies())
    assert table == SourceTable.of(SOURCES) and table != SourceTable.of(SOURCES[:2])
    assert dict(table) == {s.id: s for s in SOURCES}
    assert len(SourceTable.of([])) == 0 and SourceTable.of([]).bounds.shape == (0, 3)
    with pytest.raises(KeyError):
        table["d"]
    with pytest.raises(KeyError):
        table.lengths(["d"])


def test_a_source_table_keeps_only_the_bodies_asked_for_last() -> None:
    many = [Source(f"s{i}", "S", f"Body {i}.", f"s{i}.md") for i in range(KEPT_SOURCES + 1)]
    table = SourceTable.of(many)
    first = table["s0"]
    for source in many[1:]:
        assert table[source.id] == source
    assert table["s0"] == first and table["s0"] is not first  # decoded again


def test_bodies_outside_their_text_or_not_their_length_are_refused() -> None:
    good = SourceTable.of(SOURCES)
    text, bounds = good.text, good.bounds
    for row, column, value, fault in (
        (0, 0, -1, "outside the text"),
        (2, 1, len(text) + 1, "outside the text"),
        (1, 1, 0, "outside the text"),  # ends before it starts
        (0, 2, 13, "characters cannot be its bytes"),  # more characters than bytes
        (1, 2, 5, "characters cannot be its bytes"),  # more than four bytes a character
    ):
        changed = bounds.copy()
        changed[row, column] = value
        with pytest.raises(ValueError, match=fault):
            SourceTable(SOURCES, text, changed)
    moved = bounds.copy()
    moved[0, :2] += 1  # a byte later: still inside the text, but not where it was saved
    with pytest.raises(ValueError, match="one after another"):
        SourceTable(SOURCES, text, moved)
    with pytest.raises(ValueError, match="one after another"):
        SourceTable(SOURCES, text + b" ", bounds)  # bytes no body claims
    with pytest.raises(ValueError, match="appears twice"):
        SourceTable(
            [*SOURCES, SOURCES[0]],
            text + b"x",
            np.vstack([bounds, [[len(text), len(text) + 1, 1]]]),
        )
    with pytest.raises(ValueError, match="2 bodies for 3"):
        SourceTable(SOURCES, text, bounds[:2])
    # bytes that pass the checks but are not the body (only a build could write them)
    shifted = bounds.copy()
    shifted[1, 2] -= 1
    with pytest.raises(ValueError, match="source b: 27 characters, not 26"):
        SourceTable(SOURCES, text, shifted)["b"]
    broken = text.replace("é".encode(), b"\xff\xff")
    with pytest.raises(ValueError):  # UnicodeDecodeError
        SourceTable(SOURCES, broken, bounds)["b"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: (SpanTable.of(SPANS), 0),
        lambda: (PassageTable.of(PASSAGES), 0),
        lambda: (SourceTable.of(SOURCES), "b"),
    ],
)
def test_a_table_that_made_objects_is_freed_without_the_garbage_collector(
    make: Callable[[], tuple[Any, Any]],
) -> None:
    # a reload drops the old index: its mapped files must go then, not at some later full
    # collection (its folder is removed, and a mapped file keeps its disk space)
    table, key = make()
    table[key]  # an object made and kept
    gone = weakref.ref(table)
    gc.disable()
    try:
        del table
        assert gone() is None
    finally:
        gc.enable()
