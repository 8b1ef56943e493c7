from bot.spelling import Speller

SPELLER = Speller(["The transplant has side effects. Chemotherapy and research on relapses."])


def test_unknown_words_are_corrected_to_close_known_words() -> None:
    assert SPELLER.correct("tranplant side efects") == "transplant side effects"
    assert SPELLER.correct("chemotheraphy?") == "chemotherapy?"


def test_numbers_short_words_known_stems_and_strangers_are_left_alone() -> None:
    assert SPELLER.correct("38.5 mg of abc") == "38.5 mg of abc"
    assert SPELLER.correct("researchers relapse") == "researchers relapse"
    assert SPELLER.correct("ocrelizumab") == "ocrelizumab"
