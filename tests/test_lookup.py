"""Staff lookup over every source, and the patient bot never seeing staff-only ones."""

from pathlib import Path

import pytest

from bot import service
from bot.lexical import highlight
from bot.lookup import lookup
from bot.settings import Settings
from tests.conftest import FakeEmbedder

STAFF_SOURCE = """---
id: staff-notes
title: "Staff Notes"
audience: staff
---
Internal note: transplant recovery calls go to the nurse line on weekdays.
"""


@pytest.fixture
def staff_bot(settings: Settings, knowledge_dir: Path, fake_embedder: FakeEmbedder) -> service.Bot:
    (knowledge_dir / "sources" / "staff-notes.md").write_text(STAFF_SOURCE, encoding="utf-8")
    service.build(settings, embedder=fake_embedder)
    return service.load_bot(settings, fake_embedder)


def test_staff_search_finds_staff_only_passages(staff_bot: service.Bot) -> None:
    found = lookup(staff_bot.retriever, "nurse line for recovery calls", k=5)
    assert found[0].source.id == "staff-notes"
    assert found[0].answer.startswith("Internal note")
    assert len({f.passage.id for f in found}) == len(found)  # one result per passage


def test_patients_never_get_staff_only_passages(staff_bot: service.Bot) -> None:
    results = staff_bot.retriever.search("nurse line for recovery calls")
    assert results.hits and all(h.passage.source_id != "staff-notes" for h in results.hits)
    reply = staff_bot.answerer.reply("Who answers the nurse line on weekdays?")
    assert all(q.source.id != "staff-notes" for q in reply.quotes)


def test_lookup_marks_matched_words_and_keeps_the_text_whole(staff_bot: service.Bot) -> None:
    for found in lookup(staff_bot.retriever, "recovery at home", k=3):
        text = "".join(piece for piece, _ in found.segments)
        assert text == staff_bot.index.store.passage_text(found.passage)


def test_highlight_matches_stems_not_stopwords() -> None:
    pieces = highlight("how do patients recover", "Most patients recovered at home.")
    assert [p for p, matched in pieces if matched] == ["patients", "recovered"]
    assert "".join(p for p, _ in pieces) == "Most patients recovered at home."
    assert highlight("the", "the end") == [("the end", False)]


def test_the_patient_mask_follows_each_spans_passage_to_its_source(
    settings: Settings, knowledge_dir: Path, fake_embedder: FakeEmbedder
) -> None:
    # a staff source of several passages between two public ones ("tiny-blog", "tiny-news")
    paragraphs = "\n\n".join(f"Staff paragraph {i} about the ward rota." for i in range(3))
    middle = STAFF_SOURCE.replace("staff-notes", "tiny-middle").split("Internal note")[0]
    (knowledge_dir / "sources" / "tiny-middle.md").write_text(middle + paragraphs + "\n")
    service.build(settings, embedder=fake_embedder)
    bot = service.load_bot(settings, fake_embedder)
    store = bot.index.store
    sources = [store.passages[s.passage_index].source_id for s in store.spans]
    assert "tiny-middle" in sources[1:-1] and sources.count("tiny-middle") >= 3
    public = [store.sources[s].audience == "public" for s in sources]
    assert bot.retriever._public_spans.tolist() == public
