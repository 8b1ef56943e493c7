from bot.answer import DISCLAIMER, MAX_QUOTES
from bot.models import reply_to_dict
from bot.service import Bot


def test_answer_quotes_are_verbatim_with_offsets(bot: Bot) -> None:
    reply = bot.answerer.reply("How many patients did the study follow for ten years?")
    assert reply.kind == "answer"
    assert "50 patients" in reply.quotes[0].text
    for quote in reply.quotes:
        assert quote.source.body[quote.start : quote.end] == quote.text


def test_quotes_come_from_distinct_passages_and_are_few(bot: Bot) -> None:
    reply = bot.answerer.reply("patients recovery work months years study")
    assert 1 <= len(reply.quotes) <= MAX_QUOTES
    assert len({q.passage_id for q in reply.quotes}) == len(reply.quotes)


def test_faq_question_lifts_its_quote(bot: Bot) -> None:
    reply = bot.answerer.reply("When can I go back to work?")
    assert reply.quotes[0].text == "Most people return to work after three months of rest."


def test_unrelated_question_gets_no_answer_with_suggestions(bot: Bot) -> None:
    reply = bot.answerer.reply("xylophone zebra quantum")
    assert reply.kind == "no_answer" and not reply.quotes
    assert "contact" in reply.text
    assert reply.suggestions


def test_not_covered_topic_gets_no_answer_even_when_words_match(bot: Bot) -> None:
    reply = bot.answerer.reply("How many patients with autism did the study follow?")
    assert reply.kind == "no_answer"


def test_small_talk_gets_no_quote(bot: Bot) -> None:
    reply = bot.answerer.reply("thank you!")
    assert reply.kind == "smalltalk" and not reply.quotes
    assert reply.suggestions == ("How long does recovery take?",)


def test_every_reply_carries_the_disclaimer_and_the_contract_shape(bot: Bot) -> None:
    for message in ("hi", "xylophone", "How long does recovery take?"):
        data = reply_to_dict(bot.answerer.reply(message))
        assert data["disclaimer"] == DISCLAIMER
        assert set(data) == {"kind", "text", "quotes", "suggestions", "disclaimer"}
    quote = reply_to_dict(bot.answerer.reply("How long does recovery take?"))["quotes"][0]
    # "context" is an addition to design.md's contract, for the chat page's "show context"
    assert set(quote) == {"text", "passage_id", "score", "source", "context"}
    assert set(quote["source"]) == {"id", "title", "publisher", "url", "published", "citation"}
    assert quote["source"]["citation"].startswith("A Tiny Blog Post. Example Clinic.")


def test_a_heading_is_never_quoted(bot: Bot) -> None:
    reply = bot.answerer.reply("Who can have it?")
    for quote in reply.quotes:
        assert quote.text != "Who can have it?" and not quote.text.startswith("#")


def test_citation_formatting_keeps_unknowns_out_and_punctuation_single() -> None:
    from bot.models import Source

    bare = Source(id="s", title="What’s New?", body="x", path="s.md")
    assert bare.citation() == "What’s New?"
    full = Source(
        id="s",
        title="Title",
        body="x",
        path="s.md",
        publisher="Clinic",
        published="2024-01-02",
        url="https://example.org",
        cites="Doe J. Study. 2023",
    )
    assert full.citation() == (
        "Title. Clinic. Published 2024-01-02. https://example.org Reports on: Doe J. Study. 2023"
    )


def test_a_follow_up_is_answered_in_the_light_of_history(bot: Bot) -> None:
    from bot.models import Turn

    alone = bot.answerer.reply("what about them?")
    assert alone.kind == "no_answer"
    history = [Turn("user", "how many patients did the study follow?")]
    follow_up = bot.answerer.reply("what about them?", history)
    assert follow_up.kind == "answer" and "50 patients" in follow_up.quotes[0].text


def test_history_does_not_hijack_a_new_topic(bot: Bot) -> None:
    from bot.models import Turn

    history = [Turn("user", "how many patients did the study follow?")]
    reply = bot.answerer.reply("When can I go back to work?", history)
    assert reply.quotes[0].text == "Most people return to work after three months of rest."


def test_a_quote_s_context_is_verbatim_and_surrounds_it(bot: Bot) -> None:
    store = bot.index.store
    for message in ("How long does recovery take?", "Who can have the treatment?"):
        for quote in bot.answerer.reply(message).quotes:
            assert quote.context is not None
            body = quote.source.body
            before, after = quote.context.before, quote.context.after
            # the quote's own paragraph, around the quote, character for character
            passage = next(p for p in store.passages if p.id == quote.passage_id)
            assert body[passage.start : quote.start] == before[-1]
            assert body[quote.end : passage.end] == after[0]
            # neighbouring paragraphs are whole passages of the same section
            for text in [*before[:-1], *after[1:]]:
                assert any(store.passage_text(p) == text for p in store.passages)
            assert quote.context.headings == passage.headings


def test_context_takes_neighbouring_paragraphs_of_the_same_section_only(bot: Bot) -> None:
    store = bot.index.store
    first = next(i for i, p in enumerate(store.passages) if p.source_id == "tiny-news")
    passage = store.passages[first]
    context = store.context(first, passage.start, passage.end)
    assert context.before == ("",)  # nothing earlier in the source
    assert context.after == ("", store.passage_text(store.passages[first + 1]))
