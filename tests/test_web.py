"""The pages, the widget, staff lookup and feedback over HTTP, in-process (fake embedder)."""

import json
import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.api import create_app
from bot.settings import Settings
from tests.conftest import FakeEmbedder

TOKEN = "staff-token-0123456789"
CLINIC = "https://clinic.example"


@pytest.fixture
def client(built: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    settings = built.model_copy(update={"embed_origins": [CLINIC]})
    with TestClient(create_app(settings, fake_embedder)) as test_client:
        yield test_client


@pytest.fixture
def staff_client(built: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    settings = built.model_copy(update={"staff_token": SecretStr(TOKEN), "log_questions": True})
    with TestClient(create_app(settings, fake_embedder)) as test_client:
        yield test_client


def _frame_ancestors(response: object) -> str:
    policy = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return next(p.strip() for p in policy.split(";") if "frame-ancestors" in p)


def test_only_embed_may_be_framed_and_only_by_the_configured_origins(client: TestClient) -> None:
    assert _frame_ancestors(client.get("/embed")) == f"frame-ancestors 'self' {CLINIC}"
    for path in ("/", "/widget-demo", "/healthz", "/static/chat.js", "/nowhere"):
        assert _frame_ancestors(client.get(path)) == "frame-ancestors 'none'", path


def test_embed_shows_the_greeting_as_text(client: TestClient) -> None:
    page = client.get(
        "/embed",
        params={"greeting": "<img src=x onerror=alert(1)>", "title": "Hi"},
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<img src=x" not in page.text
    assert "<title>Hi</title>" in page.text
    assert '<p class="who">The clinic</p>' in page.text  # "the clinic" starts the label
    # shown only in a frame: no cache may hand this copy to someone opening the page directly
    assert page.headers["vary"] == "Sec-Fetch-Dest"


def test_a_greeting_in_a_link_opened_directly_is_not_shown(client: TestClient) -> None:
    # a crafted link must not put words in the clinic's mouth outside the widget's frame
    page = client.get("/embed", params={"greeting": "Stop your medicines", "title": "Clinic says"})
    assert "Stop your medicines" not in page.text and "Clinic says" not in page.text


def test_widget_script_and_demo(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/embed?" in script.text
    demo = client.get("/widget-demo")
    assert '<script src="/widget.js" async' in demo.text


def test_patient_pages_set_no_cookies(client: TestClient) -> None:
    responses = [client.get(p) for p in ("/", "/embed", "/widget.js", "/widget-demo")]
    responses.append(client.post("/api/chat", json={"message": "How long is recovery?"}))
    assert all("set-cookie" not in r.headers for r in responses)


def test_staff_routes_do_not_exist_without_a_token(client: TestClient) -> None:
    assert client.get("/staff").status_code == 404
    assert client.get("/api/search", params={"q": "recovery"}).status_code == 404
    assert client.post("/staff/login", data={"token": "x" * 20}).status_code == 404


def test_staff_page_refuses_without_the_token(staff_client: TestClient) -> None:
    page = staff_client.get("/staff")
    assert page.status_code == 401 and 'name="token"' in page.text
    api = staff_client.get("/api/search", params={"q": "recovery"})
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    wrong = staff_client.get("/api/search?q=x", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_staff_search_with_a_bearer_token(staff_client: TestClient) -> None:
    response = staff_client.get(
        "/api/search",
        params={"q": "when can I go back to work", "k": 2},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    data = response.json()
    assert len(data["results"]) == 2
    first = data["results"][0]
    assert first["answer"] == "Most people return to work after three months of rest."
    assert any(s["match"] and s["text"] == "work" for s in first["segments"])
    assert data["patient_reply"]["kind"] == "answer"


@pytest.mark.parametrize("query", ["q=", "q=%20%20", "k=3", "q=x&k=0", "q=x&k=51"])
def test_bad_search_parameters_get_422(staff_client: TestClient, query: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = staff_client.get(f"/api/search?{query}", headers=headers)
    assert response.status_code == 422 and response.json()["error"]


def test_login_form_sets_a_session_that_searches(staff_client: TestClient) -> None:
    bad = staff_client.post("/staff/login", data={"token": "not-the-token-at-all"})
    assert bad.status_code == 401 and "not right" in bad.text
    assert 'aria-invalid="true" autofocus' in bad.text  # back in the field to try again
    good = staff_client.post("/staff/login", data={"token": TOKEN}, follow_redirects=False)
    assert good.status_code == 303
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert staff_client.get("/staff").status_code == 200
    assert staff_client.get("/api/search", params={"q": "recovery"}).status_code == 200
    staff_client.post("/staff/logout")
    assert staff_client.get("/staff").status_code == 401


@pytest.mark.parametrize(
    "cookie", ["9999999999.deadbeef", "9999999999." + "0" * 64, "1.é", "9" * 5000 + ".x", ""]
)
def test_a_forged_or_malformed_session_cookie_is_refused(
    staff_client: TestClient, cookie: str
) -> None:
    headers = {"cookie": f"faqbot_staff={cookie}".encode()}  # raw bytes, as a browser may send
    assert staff_client.get("/staff", headers=headers).status_code == 401
    assert staff_client.get("/api/search?q=x", headers=headers).status_code == 401


def test_staff_pages_are_not_cached_and_sign_in_is_rate_limited(
    built: Settings, fake_embedder: FakeEmbedder
) -> None:
    settings = built.model_copy(update={"staff_token": SecretStr(TOKEN), "rate_limit": 3})
    with TestClient(create_app(settings, fake_embedder)) as client:
        assert client.get("/staff").headers["cache-control"] == "no-store"
        codes = [
            client.post("/staff/login", data={"token": f"guess-{n}-abcdefghijk"}).status_code
            for n in range(4)
        ]
        assert codes == [401, 401, 401, 429]


def test_the_session_cookie_is_secure_behind_a_trusted_tls_proxy(
    built: Settings, fake_embedder: FakeEmbedder
) -> None:
    settings = built.model_copy(update={"staff_token": SecretStr(TOKEN), "trust_proxy": True})
    with TestClient(create_app(settings, fake_embedder)) as client:
        plain = client.post("/staff/login", data={"token": TOKEN}, follow_redirects=False)
        assert "secure" not in plain.headers["set-cookie"].lower()
        proxied = client.post(
            "/staff/login",
            data={"token": TOKEN},
            headers={"X-Forwarded-Proto": "https"},
            follow_redirects=False,
        )
        assert "secure" in proxied.headers["set-cookie"].lower()


def test_feedback_is_stored_and_shown_to_staff(staff_client: TestClient, built: Settings) -> None:
    reply = staff_client.post("/api/chat", json={"message": "When can I go back to work?"}).json()
    ids = [q["passage_id"] for q in reply["quotes"]]
    # two quotes from one passage name it twice: it is counted once
    vote = {
        "vote": "down",
        "kind": "answer",
        "passage_ids": ids + ids[:1],
        "question": "back to work?",
    }
    assert staff_client.post("/api/feedback", json=vote).status_code == 201
    with sqlite3.connect(built.feedback_db) as db:
        assert db.execute("SELECT passage_ids FROM votes").fetchall() == [(json.dumps(ids),)]
    staff_client.post("/api/chat", json={"message": "Does coffee cure autism?"})
    staff_client.post("/staff/login", data={"token": TOKEN})
    page = staff_client.get("/staff").text
    assert "<strong>1</strong> unanswered" in page and ids[0] in page
    assert "Does coffee cure autism?" in page  # question logging is on for this client


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"vote": "meh", "kind": "answer"}, "vote must be 'up' or 'down'."),
        ({"vote": "up", "kind": "other"}, "kind must be 'answer', 'no_answer', 'emergency' or"),
        (
            {"vote": "up", "kind": "answer", "passage_ids": ["a", "b", "c", "d"]},
            "passage_ids may hold at most 3 items.",
        ),
        ({"vote": "up", "kind": "answer", "passage_ids": None}, "passage_ids must be a list."),
        (
            {"vote": "up", "kind": "answer", "passage_ids": ["no-such-passage"]},
            "passage_ids names a passage this index lacks: no-such-passage",
        ),
        # a lone surrogate is valid JSON, and repeated in the error it cannot be UTF-8
        (
            {"vote": "up", "kind": "answer", "passage_ids": ["\udc80"]},
            "passage_ids names a passage this index lacks: \udc80",
        ),
        (
            {"vote": "up", "kind": "answer", "question": "x" * 1001},
            "question must be at most 1000 characters.",
        ),
        ([], "The request body must be a JSON object."),
    ],
)
def test_bad_feedback_gets_a_readable_422(client: TestClient, body: object, error: str) -> None:
    sent = json.dumps(body).encode()  # ASCII, "\\udc80" escaped as JSON allows
    response = client.post(
        "/api/feedback", content=sent, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["error"].startswith(error)


def test_unanswered_questions_are_counted_without_their_text(
    client: TestClient, built: Settings
) -> None:
    client.post("/api/chat", json={"message": "Is there a cure for autism?"})
    with sqlite3.connect(built.feedback_db) as db:
        rows = db.execute("SELECT question FROM unanswered").fetchall()
    assert rows == [(None,)]
