from bot.qtype import expected_types, matches


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
