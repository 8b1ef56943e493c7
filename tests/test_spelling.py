import re

import pytest

from bot import spelling
from bot.spelling import Speller, vocabulary

SPELLER = Speller(
    vocabulary(["The transplant has side effects. Chemotherapy and research on relapses."])
)


def test_unknown_words_are_corrected_to_close_known_words() -> None:
    assert SPELLER.correct("tranplant side efects") == "transplant side effects"
    assert SPELLER.correct("chemotheraphy?") == "chemotherapy?"


def test_numbers_short_words_known_stems_and_strangers_are_left_alone() -> None:
    assert SPELLER.correct("38.5 mg of abc") == "38.5 mg of abc"
    assert SPELLER.correct("researchers relapse") == "researchers relapse"
    assert SPELLER.correct("ocrelizumab") == "ocrelizumab"


def test_unknown_words_are_topic_words_the_knowledge_never_uses() -> None:
    assert SPELLER.unknown_words("Does coffee make the transplant worse?") == ["coffee", "worse"]
    assert SPELLER.unknown_words("what are the tranplant side efects") == []
    assert SPELLER.unknown_words("is it researched?") == []


def test_hyphenated_words_are_known_by_their_parts() -> None:
    speller = Speller(vocabulary(["relapsing-remitting MS"]))
    assert speller.unknown_words("what is remitting") == []


def test_common_short_forms_are_spelled_out() -> None:
    assert SPELLER.correct("chemo after 5 yrs") == "chemotherapy after 5 years"
    assert SPELLER.unknown_words("does chemo cause relapses") == ["cause"]


def test_word_families_and_typos_of_question_words_are_not_unknown() -> None:
    speller = Speller(vocabulary(["Conclusion", "The transplant has side effects."]))
    assert speller.unknown_words("what did they conclude") == []
    assert speller.unknown_words("wat are the side effects") == []
    # a shared prefix of fewer than six letters is no family: "transfusion" is not "transplant"
    assert speller.unknown_words("is a transfusion needed") == ["transfusion", "needed"]
    assert speller.unknown_words("side effects at home") == ["home"]


def test_corrections_are_remembered_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spelling, "_MEMO_SIZE", 3)
    speller = Speller(vocabulary(["The transplant has side effects."]))
    first = speller.correct("tranplant side efects now")
    assert speller.correct("tranplant side efects now") == first == "transplant side effects now"
    assert len(speller._fixed) <= 3
    speller.correct("one more word here then")
    assert len(speller._fixed) <= 3
    assert speller.correct("efects") == "effects"  # still right after the memo was emptied


def test_the_signature_changes_with_how_words_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    before = spelling.signature()
    monkeypatch.setattr(spelling, "_PARTS", re.compile(r"[-']"))
    assert spelling.signature() != before


def test_a_vocabulary_is_sorted_lower_cased_and_split_at_hyphens() -> None:
    assert vocabulary(["Relapsing-remitting MS", "MS relapses"]) == [
        "ms",
        "relapses",
        "relapsing",
        "relapsing-remitting",
        "remitting",
    ]
