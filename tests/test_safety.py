"""Safety triage with the real rules in knowledge/safety.yaml (no model needed)."""

import time

import pytest

from bot.safety import clauses, fill, normalise, triage
from bot.safety_rules import load_rules
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


def test_a_long_run_of_digits_takes_no_time_to_read() -> None:
    """Triage reads whole bodies of requests it will not answer (up to 16 KB): the decimal
    pattern once backtracked from every digit of a run, and 16 000 digits took 2.8 s (now 6 ms;
    the bound leaves room for a slow machine)."""
    started = time.perf_counter()
    assert _urgent("9" * 16_000) is None and _urgent("38" + "9" * 16_000 + ".5 fever") is None
    assert time.perf_counter() - started < 1.0
    assert normalise("my temp is 38 point 5", RULES).endswith("38.5")


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


def test_normalising_keeps_numbers_in_words_and_phrases() -> None:
    assert normalise("thirty eight point five", RULES) == "38.5"
    assert normalise("a hundred and one degrees", RULES) == "101 degrees"
    assert normalise("Forty-one, 3 8 point 6", RULES) == "41, 38.6"
    assert normalise("nothing to change here", RULES) == "nothing to change here"
