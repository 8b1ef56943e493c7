import re

import pytest

from bot import qtype
from bot.qtype import answer_types, expected_types, matches, type_masks


def test_question_words_give_answer_types() -> None:
    assert expected_types("How many patients were treated?") == ["number"]
    assert expected_types("since when is it offered") == ["time"]
    assert expected_types("which hospital did it") == ["place"]
    assert expected_types("what is ms") == []


def test_answer_types_are_found_in_text() -> None:
    assert matches("The study observed 174 patients.", ["number"])
    assert matches("two-thirds stayed well", ["number"])
    assert matches("after three months", ["time"])
    assert matches("conducted at Uppsala University Hospital", ["place"])
    assert not matches("MS affects the nervous system.", ["place"])
    assert not matches("Younger patients respond better.", ["number"])


def test_durability_why_and_comparison_questions_have_types() -> None:
    assert expected_types("do the results last") == ["time"]
    assert expected_types("did it last year") == []
    assert expected_types("why does that happen?") == ["reason"]
    assert expected_types("is it better than normal ms drugs") == ["comparison"]
    assert expected_types("which countrys do it") == ["place"]


def test_durations_causes_comparisons_and_places_are_found_in_text() -> None:
    assert matches("halted disease activity in some patients for years", ["time"])
    assert matches("chemotherapy might reduce inflammation, leading to the reversal", ["reason"])
    assert not matches("The study provides robust evidence", ["reason"])
    assert matches("The relapse rate was lower compared to usual drugs.", ["comparison"])
    assert not matches("Younger patients respond better to the treatment.", ["comparison"])
    assert matches("Countries like Germany now offer it", ["place"])
    assert not matches("Patients with Relapsing-Remitting MS (RRMS)", ["place"])


def test_a_text_lists_every_answer_type_it_holds() -> None:
    text = "After three months, 174 patients at Uppsala did better than before because of it."
    assert answer_types(text) == {"number", "time", "place", "reason", "comparison"}
    assert answer_types("MS affects the nervous system.") == frozenset()
    assert matches(text, ["number", "place"]) and not matches("cats", ["number"])


def test_type_masks_say_which_texts_hold_each_type() -> None:
    masks = type_masks(["In 2019, 50 patients in Sweden", "MS affects nerves", "since 2001"])
    assert {name: mask.tolist() for name, mask in masks.items()} == {
        "number": [True, False, True],
        "place": [True, False, False],
        "time": [True, False, True],
    }
    assert type_masks([]) == {}


def test_the_signature_changes_with_the_answer_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    before = qtype.signature()
    asks, _ = qtype._TYPES["number"]
    changed = {**qtype._TYPES, "number": (asks, re.compile(r"\d"))}
    monkeypatch.setattr(qtype, "_TYPES", changed)
    assert qtype.signature() != before
