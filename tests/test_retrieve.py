from dataclasses import replace

from bot.retrieve import FAQ_FLOOR, FAQ_LEAD
from bot.service import Bot


def test_faq_near_ties_lift_their_quotes_less_the_further_they_trail(bot: Bot) -> None:
    retriever = bot.retriever
    best = bot.index.store.faq[0]
    row = retriever._faq_span[best.id]
    rival = replace(best, id="rival")
    retriever._faq_span["rival"] = row + 1
    try:
        # a clear winner lifts alone
        assert retriever._faq_lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD)]) == {row: 0.9}
        # a dead heat lifts both alike; a near tie lifts the runner-up less
        tie = retriever._faq_lifts([(best, 0.9), (rival, 0.9)])
        assert tie == {row: 0.9, row + 1: 0.9}
        near = retriever._faq_lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD / 2)])
        assert near[row] == 0.9 and FAQ_FLOOR < near[row + 1] < 0.9 - FAQ_LEAD / 2
        # nothing at or below the floor lifts
        assert retriever._faq_lifts([(best, FAQ_FLOOR), (rival, FAQ_FLOOR)]) == {}
    finally:
        del retriever._faq_span["rival"]
