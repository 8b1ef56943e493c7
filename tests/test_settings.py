"""Every setting is read from its FAQBOT_* variable and documented in the README."""

import re

import pytest

from bot.settings import Settings
from tests.conftest import ROOT


def test_every_setting_has_a_row_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(FAQBOT_[A-Z_]+)` \|", readme, re.MULTILINE))
    expected = {f"FAQBOT_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAQBOT_PORT", "9001")
    monkeypatch.setenv("FAQBOT_MIN_SCORE", "0.5")
    monkeypatch.setenv("FAQBOT_CLINIC_CONTACT", "call 0123")
    settings = Settings()
    assert (settings.port, settings.min_score, settings.clinic_contact) == (9001, 0.5, "call 0123")


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAQBOT_PORT", "99999")
    with pytest.raises(ValueError, match="port"):
        Settings()


def test_embed_origins_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAQBOT_EMBED_ORIGINS", "https://clinic.example, http://localhost:8080/")
    assert Settings().embed_origins == ["https://clinic.example", "http://localhost:8080"]


@pytest.mark.parametrize(
    "origin", ["clinic.example", "https://clinic.example; script-src *", "javascript:x", "*"]
)
def test_an_origin_that_could_bend_the_csp_is_refused(
    monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    monkeypatch.setenv("FAQBOT_EMBED_ORIGINS", origin)
    with pytest.raises(ValueError, match="not an origin"):
        Settings()


def test_staff_token_is_off_when_empty_and_refused_when_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAQBOT_STAFF_TOKEN", "")
    assert Settings().staff_token is None
    monkeypatch.setenv("FAQBOT_STAFF_TOKEN", "short")
    with pytest.raises(ValueError, match="at least 16"):
        Settings()
