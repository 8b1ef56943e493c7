"""Safety triage with the real rules in knowledge/safety.yaml (no model needed)."""

import re
from pathlib import Path

import pytest

from bot.safety import (
    Cues,
    SafetyRulesError,
    _either,
    clauses,
    fill,
    load_rules,
    normalise,
    parse_rules,
    triage,
)
from bot.settings import Settings
from tests.conftest import ROOT

RULES = load_rules(ROOT / "knowledge")


def _urgent(message: str) -> str | None:
    found = triage(message, RULES)
    return found.category.id if found and found.urgent else None


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("i have a fever of 38,6", "fever_infection"),
        ("my temp is 101 F", "fever_infection"),
        ("Temperature 39.2C", "fever_infection"),
        ("temp is 38 point 4 after my transplant", "fever_infection"),
        ("hes now 39.5 and not himself", "fever_infection"),
        ("feaver and shivvering since this morning", "fever_infection"),
        ("had my chemo 12 days ago and now im shivering", "fever_infection"),
        ("chest pian and cant breth", "breathing_chest"),
        ("my face is drooping and my speech is slurred", "stroke"),
        ("siezure wont stop", "seizure"),
        ("my husband collapsed and isnt responding", "unconscious_confusion"),
        ("my hickman line is bleading", "bleeding"),
        ("my throat is swelling after the infusion", "allergic_reaction"),
        ("suddenly cant see out of my left eye", "vision_weakness"),
        ("I don't want to be here anymore", "suicide_self_harm"),
    ],
)
def test_emergencies_escalate_in_many_spellings(message: str, category: str) -> None:
    assert _urgent(message) == category


@pytest.mark.parametrize(
    "message",
    [
        "I don't have a fever",
        "no chest pain, just tired",
        "my temp is 37.2",
        "99 F this morning, feel fine",
        "i am 39 years old",
        "had a fever of 39 last month, now fine",
        "my speech gets slurred when im tired, an old ms thing",
        "is chest pain a known side effect of cyclophosphamide?",
        "what does anaphylaxis look like?",
        "this bot is killing me lol",
        "im dying to know the results",
        "my line isnt bleeding, just itchy",
    ],
)
def test_ordinary_messages_do_not_escalate(message: str) -> None:
    assert _urgent(message) is None


def test_hypotheticals_are_informational_not_emergencies() -> None:
    found = triage("what should I do if I get a fever after the transplant?", RULES)
    assert found is not None and not found.urgent and found.category.id == "fever_infection"


def test_a_red_flag_buried_at_the_end_of_a_long_message_escalates() -> None:
    message = "How much does AHSCT cost abroad and is it covered by insurance? " * 15
    assert _urgent(message + "Also my wife just collapsed.") == "unconscious_confusion"


def test_the_most_serious_category_wins() -> None:
    assert _urgent("i feel very unwell and my chest hurts") == "breathing_chest"


def test_normalising_keeps_decimal_commas_and_splits_clauses() -> None:
    text = normalise("I don’t feel well, temp 38,6. But no rash", RULES)
    assert text == "i dont feel well, temp 38,6. but no rash"
    assert [c for _, c in clauses(text)] == ["i dont feel well", "temp 38,6", "no rash"]
    assert normalise("thirty eight point five, then 3 8 point 6", RULES) == "38.5, then 38.6"
    assert normalise("a hundred and one F", RULES) == "101 f"
    assert normalise("shes having a sees your", RULES) == "shes having a seizure"


def test_contacts_come_from_settings() -> None:
    message = RULES.category("suicide_self_harm").message
    plain = fill(message, Settings())
    assert "the emergency number 112" in plain and "a crisis line" in plain
    custom = fill(message, Settings(emergency_number="999", crisis_line="Samaritans 116 123"))
    assert "the emergency number 999" in custom and "Samaritans 116 123" in custom
    clinic = fill("{clinic}", Settings(clinic_phone="01234 567890", clinic_hours="8am-6pm"))
    assert clinic == "the clinic on 01234 567890 (8am-6pm)"


def test_bad_rules_are_reported_with_where_they_are(tmp_path: Path) -> None:
    with pytest.raises(SafetyRulesError, match="category 'x': pattern"):
        parse_rules(
            {
                "categories": [
                    {
                        "id": "x",
                        "title": "t",
                        "message": "m",
                        "if_it_happens": "i",
                        "patterns": ["(unclosed"],
                    },
                ],
                **{cue: "x" for cue in Cues.__dataclass_fields__},
            }
        )
    with pytest.raises(SafetyRulesError, match="cannot be read"):
        load_rules(tmp_path)
    (tmp_path / "safety.yaml").write_text("categories: [\n", encoding="utf-8")
    with pytest.raises(SafetyRulesError, match="not valid YAML"):
        load_rules(tmp_path)


def test_every_category_is_screened_by_one_joined_pattern() -> None:
    """Each category's patterns are first tried as one: if joining them failed, triage would
    be as right but slower, so the real rules must all have their screens."""
    for category in RULES.categories:
        assert category.screen is not None, category.id
        assert (category.sign_screen is not None) == bool(category.signs), category.id


@pytest.mark.parametrize(
    "text", ["chest pain now", "pain in my chest", "no pain", "", "chest", "bleeding badly"]
)
def test_a_joined_pattern_matches_exactly_where_one_of_its_parts_does(text: str) -> None:
    parts = (re.compile(r"\bchest pain\b"), re.compile(r"pain in (my|the) chest"), re.compile("^$"))
    joined = _either(parts)
    assert joined is not None
    assert bool(joined.search(text)) == any(p.search(text) for p in parts)


def test_patterns_that_cannot_be_joined_safely_are_not_joined() -> None:
    assert _either((re.compile(r"(a)b"), re.compile(r"(c)\1"))) is None  # back-reference
    assert _either((re.compile(r"(?P<x>a)"), re.compile(r"(?P<x>b)"))) is None  # same name
    assert _either(()) is None
