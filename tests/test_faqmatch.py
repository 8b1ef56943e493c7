"""The FAQ signal: which entry a question means and how much each entry lifts its quote."""

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from bot.faqmatch import FAQ_FLOOR, FAQ_LEAD, FAQ_LEAD_SHARE
from bot.lexical import Bm25
from bot.models import FaqEntry
from bot.retrieve import Retriever
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
    row = retriever.faq_matcher.span[best.id]
    retriever.faq_matcher.span["rival"] = row + 1
    saved = retriever.faq_matcher.bm25, retriever.faq_matcher.phrasing_ids
    try:
        yield Rivals(retriever, best, replace(best, id="rival"), row)
    finally:
        del retriever.faq_matcher.span["rival"]
        retriever.faq_matcher.bm25, retriever.faq_matcher.phrasing_ids = saved


def test_faq_near_ties_lift_their_quotes_less_the_further_they_trail(rivals: Rivals) -> None:
    retriever, best, rival, row = rivals.retriever, rivals.best, rivals.rival, rivals.row
    # a clear winner lifts alone (a little more for its lead: see the test below)
    clear = retriever.faq_matcher.lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD)], "")
    assert clear == {row: pytest.approx(0.9 + FAQ_LEAD_SHARE * FAQ_LEAD)}
    # a dead heat lifts both alike; a near tie lifts the runner-up less
    tie = retriever.faq_matcher.lifts([(best, 0.9), (rival, 0.9)], "")
    assert tie == {row: 0.9, row + 1: 0.9}
    near = retriever.faq_matcher.lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD / 2)], "")
    assert near[row] == pytest.approx(0.9 + FAQ_LEAD_SHARE * FAQ_LEAD / 2)
    assert FAQ_FLOOR < near[row + 1] < 0.9 - FAQ_LEAD / 2
    # nothing at or below the floor lifts
    assert retriever.faq_matcher.lifts([(best, FAQ_FLOOR), (rival, FAQ_FLOOR)], "") == {}


def test_faq_keywords_choose_the_entry_and_cosine_and_lead_set_the_lift(rivals: Rivals) -> None:
    """Two entries about as close in meaning: the one sharing the question's rare words lifts
    its quote, by as much as the closest similarity says the question is a FAQ question, raised
    by a share of the winner's lead on cosine plus keywords."""
    retriever, best, rival, row = rivals.retriever, rivals.best, rivals.rival, rivals.row
    retriever.faq_matcher.bm25 = Bm25(
        ["How long does recovery take?", "Who decides if I can have it?"]
    )
    retriever.faq_matcher.phrasing_ids = (best.id, "rival")
    faq = [(best, 0.8), (rival, 0.8 - 1.2 * FAQ_LEAD)]
    words = "who decides if i can have the treatment"
    matches = retriever.faq_matcher.matches(faq, words)
    lead = matches[0][1] - matches[1][1]
    assert matches[0][0] is rival and lead > 0
    assert retriever.faq_matcher.lifts(faq, words) == {
        row + 1: pytest.approx(0.8 + FAQ_LEAD_SHARE * lead)
    }
    # without shared words the closer entry wins as before
    assert retriever.faq_matcher.lifts(faq, "") == {
        row: pytest.approx(0.8 + FAQ_LEAD_SHARE * 1.2 * FAQ_LEAD)
    }


def test_a_clear_faq_leader_lifts_more_and_may_lift_from_just_under_the_floor(
    rivals: Rivals,
) -> None:
    """The best match's lift grows with its lead over the next entry (capped at 1): a clear
    leader just under FAQ_FLOOR lifts a little, while a dead heat there lifts nothing."""
    retriever, best, rival, row = rivals.retriever, rivals.best, rivals.rival, rivals.row
    under = FAQ_FLOOR - 0.01
    assert retriever.faq_matcher.lifts([(best, under), (rival, under)], "") == {}
    clear = retriever.faq_matcher.lifts([(best, under), (rival, under - 0.3)], "")
    assert clear == {row: pytest.approx(under + FAQ_LEAD_SHARE * 0.3)}
    assert clear[row] > FAQ_FLOOR
    small = retriever.faq_matcher.lifts([(best, 0.8), (rival, 0.7)], "")
    large = retriever.faq_matcher.lifts([(best, 0.8), (rival, 0.4)], "")
    assert small[row] < large[row]
    # a lone entry has no lead; the lift never passes a perfect match
    assert retriever.faq_matcher.lifts([(best, 0.9)], "") == {row: 0.9}
    assert retriever.faq_matcher.lifts([(best, 0.99), (rival, 0.0)], "") == {row: 1.0}
