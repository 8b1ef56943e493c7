from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

import bot.retrieve as bot_retrieve
from bot.lexical import Bm25
from bot.models import FaqEntry, Question
from bot.retrieve import FAQ_FLOOR, FAQ_LEAD, FAQ_LEAD_SHARE, MODES, Retriever
from bot.service import Bot


@dataclass
class Rivals:
    """The bot's first FAQ entry and a copy of it, "rival", quoting the next span."""

    retriever: Retriever
    best: FaqEntry
    rival: FaqEntry
    row: int  # the best entry's span row; the rival's is row + 1


@pytest.fixture
def rivals(bot: Bot) -> Iterator[Rivals]:
    retriever = bot.retriever
    best = bot.index.store.faq[0]
    row = retriever._faq_span[best.id]
    retriever._faq_span["rival"] = row + 1
    saved = retriever._faq_bm25, retriever._faq_phrasing_ids
    try:
        yield Rivals(retriever, best, replace(best, id="rival"), row)
    finally:
        del retriever._faq_span["rival"]
        retriever._faq_bm25, retriever._faq_phrasing_ids = saved


def test_faq_near_ties_lift_their_quotes_less_the_further_they_trail(rivals: Rivals) -> None:
    retriever, best, rival, row = rivals.retriever, rivals.best, rivals.rival, rivals.row
    # a clear winner lifts alone (a little more for its lead: see the test below)
    clear = retriever._faq_lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD)], "")
    assert clear == {row: pytest.approx(0.9 + FAQ_LEAD_SHARE * FAQ_LEAD)}
    # a dead heat lifts both alike; a near tie lifts the runner-up less
    tie = retriever._faq_lifts([(best, 0.9), (rival, 0.9)], "")
    assert tie == {row: 0.9, row + 1: 0.9}
    near = retriever._faq_lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD / 2)], "")
    assert near[row] == pytest.approx(0.9 + FAQ_LEAD_SHARE * FAQ_LEAD / 2)
    assert FAQ_FLOOR < near[row + 1] < 0.9 - FAQ_LEAD / 2
    # nothing at or below the floor lifts
    assert retriever._faq_lifts([(best, FAQ_FLOOR), (rival, FAQ_FLOOR)], "") == {}


def test_faq_keywords_choose_the_entry_and_cosine_and_lead_set_the_lift(rivals: Rivals) -> None:
    """Two entries about as close in meaning: the one sharing the question's rare words lifts
    its quote, by as much as the closest similarity says the question is a FAQ question, raised
    by a share of the winner's lead on cosine plus keywords."""
    retriever, best, rival, row = rivals.retriever, rivals.best, rivals.rival, rivals.row
    retriever._faq_bm25 = Bm25(["How long does recovery take?", "Who decides if I can have it?"])
    retriever._faq_phrasing_ids = (best.id, "rival")
    faq = [(best, 0.8), (rival, 0.8 - 1.2 * FAQ_LEAD)]
    words = "who decides if i can have the treatment"
    matches = retriever._faq_matches(faq, words)
    lead = matches[0][1] - matches[1][1]
    assert matches[0][0] is rival and lead > 0
    assert retriever._faq_lifts(faq, words) == {row + 1: pytest.approx(0.8 + FAQ_LEAD_SHARE * lead)}
    # without shared words the closer entry wins as before
    assert retriever._faq_lifts(faq, "") == {
        row: pytest.approx(0.8 + FAQ_LEAD_SHARE * 1.2 * FAQ_LEAD)
    }


def test_a_clear_faq_leader_lifts_more_and_may_lift_from_just_under_the_floor(
    rivals: Rivals,
) -> None:
    """The best match's lift grows with its lead over the next entry (capped at 1): a clear
    leader just under FAQ_FLOOR lifts a little, while a dead heat there lifts nothing."""
    retriever, best, rival, row = rivals.retriever, rivals.best, rivals.rival, rivals.row
    under = FAQ_FLOOR - 0.01
    assert retriever._faq_lifts([(best, under), (rival, under)], "") == {}
    clear = retriever._faq_lifts([(best, under), (rival, under - 0.3)], "")
    assert clear == {row: pytest.approx(under + FAQ_LEAD_SHARE * 0.3)}
    assert clear[row] > FAQ_FLOOR
    small = retriever._faq_lifts([(best, 0.8), (rival, 0.7)], "")
    large = retriever._faq_lifts([(best, 0.8), (rival, 0.4)], "")
    assert small[row] < large[row]
    # a lone entry has no lead; the lift never passes a perfect match
    assert retriever._faq_lifts([(best, 0.9)], "") == {row: 0.9}
    assert retriever._faq_lifts([(best, 0.99), (rival, 0.0)], "") == {row: 1.0}


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
