"""The HTTP app in-process, with the fake embedder (the real model has its own test file)."""

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.api import create_app
from bot.index import current_path
from bot.settings import Settings
from tests.conftest import FakeEmbedder


@pytest.fixture
def client(built: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    with TestClient(create_app(built, fake_embedder)) as test_client:
        yield test_client


def test_chat_answers_with_the_contract_shape(client: TestClient) -> None:
    response = client.post("/api/chat", json={"message": "When can I go back to work?"})
    assert response.status_code == 200
    data = response.json()
    assert data["kind"] == "answer"
    assert data["quotes"][0]["text"] == "Most people return to work after three months of rest."
    assert data["quotes"][0]["source"]["id"] == "tiny-blog"
    assert data["disclaimer"]
    assert response.headers["cache-control"] == "no-store"


def test_history_is_accepted(client: TestClient) -> None:
    history = [{"role": "user", "text": "hello"}, {"role": "bot", "text": "Hello!"}]
    response = client.post("/api/chat", json={"message": "thanks", "history": history})
    assert response.status_code == 200 and response.json()["kind"] == "smalltalk"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{not json", "not valid JSON"),
        ('{"message": ""}', "message must contain some text"),
        ('{"message": "  \\n\\t "}', "message must contain some text"),
        ('{"message": "\\u200b\\u200b"}', "message must contain some text"),  # zero-width
        ('{"message": "\\u0000 \\u2028\\ufeff"}', "message must contain some text"),
        ('{"message": 42}', "message must be text"),
        ('{"message": ["a"]}', "message must be text"),
        ('{"message": "' + "x" * 1001 + '"}', "at most 1000 characters"),
        ("{}", "message is required"),
        ("[]", "JSON object with a 'message'"),
        ('{"message": "hi", "history": "nope"}', "history must be a list"),
        ('{"message": "hi", "history": [{"role": "admin", "text": "x"}]}', "'user' or 'bot'"),
        ('{"message": "hi", "history": [{"role": "user"}]}', "history[0].text is required"),
    ],
)
def test_invalid_requests_get_readable_422(client: TestClient, body: str, error: str) -> None:
    response = client.post("/api/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert error in response.json()["error"]


def test_too_much_history_is_refused(client: TestClient) -> None:
    history = [{"role": "user", "text": "q"}] * 21
    response = client.post("/api/chat", json={"message": "hi", "history": history})
    assert response.status_code == 422
    assert response.json()["error"] == "history may hold at most 20 turns."


def test_a_message_of_exactly_1000_characters_is_fine(client: TestClient) -> None:
    response = client.post("/api/chat", json={"message": "work " * 199 + "work"})
    assert response.status_code == 200


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["index_version"] and ready.json()["counts"]["passages"] > 0


def test_not_ready_without_an_index(settings: Settings, fake_embedder: FakeEmbedder) -> None:
    with TestClient(create_app(settings, fake_embedder)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "faqbot build" in ready.json()["error"]
        chat = client.post("/api/chat", json={"message": "hello there friend"})
        assert chat.status_code == 503 and "not ready" in chat.json()["error"]
        assert client.get("/healthz").status_code == 200


def test_chat_page_escapes_settings_and_sends_security_headers(
    built: Settings, fake_embedder: FakeEmbedder
) -> None:
    evil = built.model_copy(update={"clinic_name": "<script>alert(1)</script>"})
    with TestClient(create_app(evil, fake_embedder)) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'aria-live="polite"' in page.text and '<label for="question">' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_static_files_are_served(client: TestClient) -> None:
    script = client.get("/static/chat.js")
    assert script.status_code == 200 and "textContent" in script.text
    assert "innerHTML" not in script.text


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404 and response.json()["error"] == "Not Found"
    # FastAPI's docs pages load scripts from a CDN that the CSP blocks: not served; the schema is
    for broken in ("/docs", "/redoc"):
        assert client.get(broken).status_code == 404
    assert client.get("/openapi.json").json()["paths"]["/api/chat"]


@pytest.fixture
def clinic(built: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    configured = built.model_copy(
        update={
            "emergency_number": "999",
            "clinic_phone": "020 7946 0000",
            "clinic_hours": "24 hours",
            "crisis_line": "Samaritans 116 123",
        }
    )
    with TestClient(create_app(configured, fake_embedder)) as test_client:
        yield test_client


def test_the_page_knows_which_numbers_to_make_tappable(
    built: Settings, fake_embedder: FakeEmbedder
) -> None:
    from bot.api.pages import call_numbers

    clinic = {"emergency_number": "999", "crisis_line": "Samaritans, 24/7, on 116 123"}
    with TestClient(create_app(built.model_copy(update=clinic), fake_embedder)) as client:
        page = client.get("/").text
    assert 'data-call="999|116 123"' in page  # the crisis line's number, not its "24"
    assert call_numbers(built.model_copy(update={"clinic_phone": "+44 (0)20 7946 0000"})) == [
        "112",
        "+44 (0)20 7946 0000",
    ]
    for undialable in ("0800-MS-HELP", "020 7946 0000 ext 12", '999|0"><script>'):
        assert call_numbers(built.model_copy(update={"clinic_phone": undialable})) == ["112"]


def test_emergency_reply_shows_the_configured_numbers_and_no_quotes(clinic: TestClient) -> None:
    data = clinic.post("/api/chat", json={"message": "my temperature is 38.9 and im shivering"})
    reply = data.json()
    assert data.status_code == 200 and reply["kind"] == "emergency"
    assert reply["quotes"] == [] and reply["suggestions"] == []
    assert "999" in reply["text"] and "020 7946 0000" in reply["text"]
    assert reply["disclaimer"]
    crisis = clinic.post("/api/chat", json={"message": "i want to kill myself"}).json()
    assert crisis["kind"] == "emergency" and "Samaritans 116 123" in crisis["text"]


def test_a_red_flag_at_the_end_of_1000_characters_escalates(clinic: TestClient) -> None:
    flag = " My wife just collapsed."
    message = ("When can I go back to work after the transplant? " * 30)[: 1000 - len(flag)] + flag
    assert len(message) == 1000
    reply = clinic.post("/api/chat", json={"message": message}).json()
    assert reply["kind"] == "emergency" and "999" in reply["text"]


def test_an_over_long_message_with_an_emergency_still_escalates(clinic: TestClient) -> None:
    message = "Tell me about recovery. " * 60 + "I cant breathe properly."
    response = clinic.post("/api/chat", json={"message": message})
    assert response.status_code == 200 and response.json()["kind"] == "emergency"
    ordinary = clinic.post("/api/chat", json={"message": "Tell me about recovery. " * 60})
    assert ordinary.status_code == 422


_NESTED = "[" * 5000 + "]" * 5000  # deeper than Python's json can parse


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b'{"message": "caf\xe9 hours?"}', "application/json", "must be UTF-8 text"),
        (
            b'{"message": "recovery?", "x": ' + _NESTED.encode() + b"}",
            "application/json",
            "nested too deeply",
        ),
        (b'{"message": "recovery?"', "application/json", "not valid JSON"),
        (b'{"message": "recovery?"}', "text/plain", "JSON object with a 'message'"),
    ],
)
def test_a_chat_body_that_cannot_be_read_gets_a_readable_422_unless_it_is_an_emergency(
    clinic: TestClient, body: bytes, content_type: str, error: str
) -> None:
    response = clinic.post("/api/chat", content=body, headers={"content-type": content_type})
    assert response.status_code == 422 and error in response.json()["error"]
    # the same body with an emergency in its message: the reply is the escalation
    urgent = body.replace(b"recovery?", b"I cant breathe").replace(
        b"caf\xe9 hours?", b"I cant breathe \xe9"
    )
    assert urgent != body
    response = clinic.post("/api/chat", content=urgent, headers={"content-type": content_type})
    assert response.status_code == 200 and response.json()["kind"] == "emergency"
    assert "999" in response.json()["text"]


def test_emergencies_escalate_even_without_an_index(
    settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    with TestClient(create_app(settings, fake_embedder)) as client:
        assert client.get("/readyz").status_code == 503
        reply = client.post("/api/chat", json={"message": "chest pain and cant breathe"})
        assert reply.status_code == 200 and reply.json()["kind"] == "emergency"
        assert client.post("/api/chat", json={"message": "how long is recovery"}).status_code == 503


def test_hypotheticals_are_answered_with_who_to_call(clinic: TestClient) -> None:
    reply = clinic.post(
        "/api/chat", json={"message": "what should I do if I get a fever after the transplant?"}
    ).json()
    assert reply["kind"] in ("answer", "no_answer")
    assert reply["text"].startswith("After a transplant, if you ever have a temperature")
    assert "020 7946 0000" in reply["text"]


def test_own_treatment_decisions_are_left_to_the_ms_team(clinic: TestClient) -> None:
    reply = clinic.post("/api/chat", json={"message": "How long is recovery, am I eligible?"})
    assert "decision for you and your MS team" in reply.json()["text"]


def test_chat_page_has_an_alert_area_above_the_conversation(client: TestClient) -> None:
    page = client.get("/").text
    assert page.index('id="alerts"') < page.index('id="log"')
    script = client.get("/static/chat.js").text
    assert 'setAttribute("role", "alert")' in script and "alerts.prepend" in script
    assert 'id="disclaimer"' in page  # always on screen, in the sticky dock


def _truncate(folder: Path) -> None:
    path = folder / "spans.faiss"
    path.write_bytes(path.read_bytes()[:-64])


def _flip_a_byte(folder: Path) -> None:
    path = folder / "passages.faiss"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))


def _miscount(folder: Path) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["counts"]["passages"] += 1
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_truncate, "does not match its SHA-256"),
        (_flip_a_byte, "does not match its SHA-256"),
        (_miscount, "passages"),
        (None, "built with model"),
    ],
)
def test_a_damaged_or_mismatched_index_is_not_ready_with_the_reason_logged(
    built: Settings,
    fake_embedder: FakeEmbedder,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None] | None,
    reason: str,
) -> None:
    settings = built
    if damage is None:
        settings = built.model_copy(update={"model": "another-model"})
    else:
        damage(current_path(built.index_dir))
    with (
        caplog.at_level(logging.ERROR, logger="faqbot"),
        TestClient(create_app(settings, fake_embedder)) as client,
    ):
        ready = client.get("/readyz")
        assert ready.status_code == 503 and reason in ready.json()["error"]
        assert client.post("/api/chat", json={"message": "When can I go back?"}).status_code == 503
    assert any(reason in record.getMessage() for record in caplog.records)


def test_every_kind_of_reply_matches_the_documented_schema(clinic: TestClient) -> None:
    # the route serialises the library's dict directly, so the contract is checked here
    from bot.api.schemas import ChatReply

    kinds = set()
    for message in (
        "When can I go back to work?",
        "hello",
        "Does coffee cure autism?",
        "my temperature is 39 and I am shivering",
    ):
        reply = ChatReply.model_validate(clinic.post("/api/chat", json={"message": message}).json())
        kinds.add(reply.kind)
    assert kinds == {"answer", "smalltalk", "no_answer", "emergency"}
