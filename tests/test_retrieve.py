from dataclasses import replace

import numpy as np

from bot.lexical import Bm25
from bot.retrieve import FAQ_FLOOR, FAQ_LEAD, _top_rows
from bot.service import Bot


def test_faq_near_ties_lift_their_quotes_less_the_further_they_trail(bot: Bot) -> None:
    retriever = bot.retriever
    best = bot.index.store.faq[0]
    row = retriever._faq_span[best.id]
    rival = replace(best, id="rival")
    retriever._faq_span["rival"] = row + 1
    try:
        # a clear winner lifts alone
        assert retriever._faq_lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD)], "") == {row: 0.9}
        # a dead heat lifts both alike; a near tie lifts the runner-up less
        tie = retriever._faq_lifts([(best, 0.9), (rival, 0.9)], "")
        assert tie == {row: 0.9, row + 1: 0.9}
        near = retriever._faq_lifts([(best, 0.9), (rival, 0.9 - FAQ_LEAD / 2)], "")
        assert near[row] == 0.9 and FAQ_FLOOR < near[row + 1] < 0.9 - FAQ_LEAD / 2
        # nothing at or below the floor lifts
        assert retriever._faq_lifts([(best, FAQ_FLOOR), (rival, FAQ_FLOOR)], "") == {}
    finally:
        del retriever._faq_span["rival"]


def test_top_rows_picks_the_highest_scores_in_any_order() -> None:
    scores = np.array([0.1, 0.9, 0.0, 0.5, 0.7], dtype=np.float32)
    assert _top_rows(scores, 2) == {1, 4}
    assert _top_rows(scores, 5) == {0, 1, 2, 3, 4}
    assert _top_rows(scores, 9) == {0, 1, 2, 3, 4}
    assert _top_rows(np.zeros(0, dtype=np.float32), 3) == set()


def test_faq_keywords_choose_the_entry_and_cosine_sets_the_lift(bot: Bot) -> None:
    """Two entries about as close in meaning: the one sharing the question's rare words lifts
    its quote, by as much as the closest similarity says the question is a FAQ question."""
    retriever = bot.retriever
    best = bot.index.store.faq[0]
    row = retriever._faq_span[best.id]
    rival = replace(best, id="rival")
    saved = retriever._faq_bm25, retriever._faq_phrasing_ids
    retriever._faq_span["rival"] = row + 1
    retriever._faq_bm25 = Bm25(["How long does recovery take?", "Who decides if I can have it?"])
    retriever._faq_phrasing_ids = (best.id, "rival")
    try:
        faq = [(best, 0.8), (rival, 0.8 - 1.2 * FAQ_LEAD)]
        assert retriever._faq_lifts(faq, "who decides if i can have the treatment") == {
            row + 1: 0.8
        }
        # without shared words the closer entry wins as before
        assert retriever._faq_lifts(faq, "") == {row: 0.8}
    finally:
        del retriever._faq_span["rival"]
        retriever._faq_bm25, retriever._faq_phrasing_ids = saved
