"""The guard around every request: body limit, rate limit, hosts, headers, errors, logs."""

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot import ratelimit
from bot.api import create_app, guard
from bot.api.guard import MAX_BODY, host_allowed
from bot.logjson import JsonFormatter, client_hash
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from tests.conftest import FakeEmbedder, serving

TOKEN = "guard-test-token-0123456"
QUESTION = {"message": "When can I go back to work?"}


def _client(settings: Settings, embedder: FakeEmbedder, **changes: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), embedder))


@pytest.fixture
def client(built: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    with _client(built, fake_embedder, staff_token=SecretStr(TOKEN)) as test_client:
        yield test_client


# -- body limit ---------------------------------------------------------------------------


def test_a_body_over_16_kb_gets_413(client: TestClient) -> None:
    big = json.dumps({"message": "x" * (MAX_BODY + 10)})
    response = client.post("/api/chat", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["request_id"]
    at_limit = json.dumps({"message": "work", "pad": "x" * (MAX_BODY - 40)})
    assert len(at_limit) <= MAX_BODY
    ok = client.post("/api/chat", content=at_limit, headers={"content-type": "application/json"})
    assert ok.status_code == 200


def test_a_chunked_body_over_16_kb_gets_413(client: TestClient) -> None:
    chunks = iter([b'{"message": "', b"x" * 9000, b"x" * 9000, b'"}'])  # no Content-Length
    response = client.post(
        "/api/chat", content=chunks, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def _exchange(
    app: Any,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    method: str = "POST",
    path: str = "/api/chat",
) -> list[dict[str, Any]]:
    """Send one raw ASGI request; returns every message the app sent back."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("10.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _call(app: FastAPI, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> int:
    """Send one raw ASGI chat request; returns the status code."""
    status: int = _exchange(app, headers, chunks)[0]["status"]
    return status


def test_a_body_that_stalls_gets_408_and_the_connection_closed(
    built: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that stops sending its body must not hold a connection and a task for good."""
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.5)
    head = b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    with serving(create_app(built, fake_embedder)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(head + b"Content-Length: 100\r\n\r\n" + b'{"message": "Wh')
            started = time.monotonic()
            received = b""
            while chunk := conn.recv(65536):  # until the server closes the connection
                received += chunk
            waited = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 408 ") and b"took too long" in received
    assert 0.4 < waited < 5


def test_a_lying_content_length_does_not_get_past_the_limit(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    body = [b'{"message": "', b"x" * 10_000, b"x" * 10_000, b'"}']
    assert _call(app, [(b"content-length", b"20")], body) == 413
    assert _call(app, [(b"content-length", b"not a number")], [b"{}"]) == 413
    small = [json.dumps(QUESTION).encode()]
    assert _call(app, [(b"content-type", b"application/json")], small) == 200


# -- rate limit ---------------------------------------------------------------------------


def test_rate_limiter_allows_a_burst_then_one_per_interval() -> None:
    now = [0.0]
    limiter = RateLimiter(30, clock=lambda: now[0])
    assert all(limiter.retry_after("a") is None for _ in range(30))
    assert limiter.retry_after("a") == 2  # one request every two seconds
    assert limiter.retry_after("b") is None  # other clients are not affected
    now[0] += 2.0
    assert limiter.retry_after("a") is None
    assert RateLimiter(0).retry_after("a") is None  # 0 turns it off


def test_rate_limiter_forgets_full_buckets_when_a_new_client_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "_PRUNE_AT", 3)
    now = [0.0]
    limiter = RateLimiter(30, clock=lambda: now[0])
    for client in ("a", "b", "c"):
        assert limiter.retry_after(client) is None
    assert limiter.retry_after("a") is None  # a known client: nothing is scanned or dropped
    assert sorted(limiter._buckets) == ["a", "b", "c"]
    now[0] += 60.0  # every bucket has refilled
    assert limiter.retry_after("d") is None
    assert sorted(limiter._buckets) == ["d"]  # the full ones were forgotten


def test_over_the_limit_gets_429_with_retry_after(built: Settings, fake: FakeEmbedder) -> None:
    with _client(built, fake, rate_limit=3) as client:
        codes = [client.post("/api/chat", json=QUESTION).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.post("/api/chat", json=QUESTION)
        assert int(refused.headers["retry-after"]) >= 1 and "wait" in refused.json()["error"]
        # pages and probes are not limited
        assert client.get("/").status_code == 200 and client.get("/healthz").status_code == 200
        # an emergency is escalated however many requests came before it
        urgent = client.post("/api/chat", json={"message": "I have chest pain and can't breathe"})
        assert urgent.status_code == 200 and urgent.json()["kind"] == "emergency"
        # also in a body too malformed to answer (not UTF-8, and the JSON left unclosed)
        broken = b'{"message": "I have chest pain and can\'t breathe \xe9"'
        urgent = client.post("/api/chat", content=broken, headers={"content-type": "text/plain"})
        assert urgent.status_code == 200 and urgent.json()["kind"] == "emergency"
        # but emergency words beside an ordinary message get no answer past the limit: the
        # byte order mark makes the lane pass this body on, and FastAPI would answer it
        sly = b'\xef\xbb\xbf{"message": "When can I go back to work?", "x": "I cant breathe"}'
        refused = client.post(
            "/api/chat", content=sly, headers={"content-type": "application/json"}
        )
        assert refused.status_code == 429


@pytest.fixture
def fake(fake_embedder: FakeEmbedder) -> FakeEmbedder:
    return fake_embedder


def test_a_forged_forwarded_for_changes_nothing(built: Settings, fake: FakeEmbedder) -> None:
    with _client(built, fake, rate_limit=2) as client:
        for n in range(2):
            client.post("/api/chat", json=QUESTION, headers={"X-Forwarded-For": f"1.2.3.{n}"})
        forged = client.post("/api/chat", json=QUESTION, headers={"X-Forwarded-For": "9.9.9.9"})
        assert forged.status_code == 429


def test_a_second_forwarded_for_line_cannot_pick_the_client(
    built: Settings, fake: FakeEmbedder
) -> None:
    app = create_app(built.model_copy(update={"rate_limit": 2, "trust_proxy": True}), fake)
    body = [json.dumps(QUESTION).encode()]
    statuses = []
    with TestClient(app):
        for n in range(3):
            forged = (b"x-forwarded-for", f"1.2.3.{n}".encode())  # the client's own line
            proxy = (b"x-forwarded-for", b"9.9.9.9")  # the line the proxy added
            json_type = (b"content-type", b"application/json")
            statuses.append(_call(app, [forged, proxy, json_type], body))
    assert statuses == [200, 200, 429]  # the proxy's own line (the last hop) is the client


def test_odd_bodies_and_headers_are_never_a_server_error(
    built: Settings, fake: FakeEmbedder
) -> None:
    with _client(built, fake, rate_limit=1) as client:
        deep = b"[" * 8000
        codes = [client.post("/api/chat", content=deep).status_code for _ in range(3)]
        assert 500 not in codes and codes[-1] == 429
    app = create_app(built, fake)
    with TestClient(app):
        assert _call(app, [(b"content-length", b"9" * 5000)], [b"{}"]) == 413


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    built: Settings, fake: FakeEmbedder
) -> None:
    with _client(built, fake, rate_limit=1, trust_proxy=True) as client:
        first = {"X-Forwarded-For": "6.6.6.6, 1.1.1.1"}  # the proxy appends the real peer
        assert client.post("/api/chat", json=QUESTION, headers=first).status_code == 200
        assert client.post("/api/chat", json=QUESTION, headers=first).status_code == 429
        other = {"X-Forwarded-For": "6.6.6.6, 2.2.2.2"}
        assert client.post("/api/chat", json=QUESTION, headers=other).status_code == 200


# -- hosts --------------------------------------------------------------------------------


def test_only_allowed_hosts_are_served_except_for_probes(
    built: Settings, fake: FakeEmbedder
) -> None:
    with _client(built, fake, allowed_hosts=["bot.example.org", "*.clinic.example"]) as client:
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400
        assert client.get("/", headers={"host": "bot.example.org:8000"}).status_code == 200
        assert client.get("/", headers={"host": "eu.clinic.example"}).status_code == 200
        assert client.get("/healthz", headers={"host": "10.1.2.3"}).status_code == 200
        assert client.get("/readyz", headers={"host": "10.1.2.3"}).status_code == 200


def test_host_matching() -> None:
    assert host_allowed("Bot.Example.org.", ["bot.example.org"])
    assert not host_allowed("notbot.example.org", ["bot.example.org"])
    assert not host_allowed("clinic.example", ["*.clinic.example"])


# -- errors and headers -------------------------------------------------------------------


def test_an_unexpected_error_is_json_without_a_stack_trace(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("secret internals")

    client.app.state.bot.answerer.reply = explode  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="faqbot"):
        response = client.post("/api/chat", json=QUESTION)
    assert response.status_code == 500
    body = response.json()
    assert "secret" not in response.text and "Traceback" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]
    errors = [r.fields for r in caplog.records if r.getMessage() == "unhandled error"]  # type: ignore[attr-defined]
    assert errors and errors[0]["request_id"] == body["request_id"]
    assert errors[0]["error"] == "RuntimeError" and "explode" in errors[0]["trace"]
    # where it failed is logged, not the exception's message (it may quote the question)
    assert "secret internals" not in caplog.text


def _every_kind_of_response(client: TestClient) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    return {
        "200 page": client.get("/"),
        "200 embed": client.get("/embed"),
        "200 static": client.get("/static/chat.css"),
        "200 widget": client.get("/widget.js"),
        "200 chat": client.post("/api/chat", json=QUESTION),
        "200 search": client.get("/api/search?q=work", headers=auth),
        "200 probe": client.get("/readyz"),
        "201 feedback": client.post("/api/feedback", json={"vote": "up", "kind": "answer"}),
        "401 staff": client.get("/staff"),
        "404": client.get("/nowhere"),
        "405": client.get("/api/chat"),
        "413": client.post("/api/chat", content=b"x" * (MAX_BODY + 1)),
        "422": client.post("/api/chat", json={"message": ""}),
        "429": [client.post("/api/chat", json=QUESTION) for _ in range(40)][-1],
    }


@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/widget.js", "/static/chat.js"])
def test_head_is_answered_as_get(client: TestClient, path: str) -> None:
    """Uptime monitors and load balancers often check with HEAD. (The test client, like
    uvicorn, drops a HEAD reply's body itself: the guard's own dropping is tested below.)"""
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]
    assert client.head("/nope").status_code == 404


def test_the_guard_sends_no_body_for_head(client: TestClient) -> None:
    start, *bodies = _exchange(client.app, [], [b""], "HEAD", "/healthz")
    assert start["status"] == 200 and (b"content-length", b"15") in start["headers"]
    assert [m["body"] for m in bodies] == [b""]


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for name, response in _every_kind_of_response(client).items():
        assert str(response.status_code) == name.split()[0], name
        headers = response.headers
        policy = headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'"):
            assert directive in policy, name
        assert "base-uri 'none'" in policy and "frame-ancestors" in policy, name
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert len(headers["x-request-id"]) == 16, name
        if "/api/" in str(response.url):
            assert headers["cache-control"] == "no-store", name
        if response.status_code >= 400 and "json" in headers.get("content-type", ""):
            assert response.json()["request_id"] == headers["x-request-id"], name


def test_cors_only_for_configured_origins(built: Settings, fake: FakeEmbedder) -> None:
    with _client(built, fake, cors_origins=["https://clinic.example"]) as client:
        allowed = client.post(
            "/api/chat", json=QUESTION, headers={"Origin": "https://clinic.example"}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://clinic.example"
        other = client.post("/api/chat", json=QUESTION, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options(
            "/api/chat",
            headers={
                "Origin": "https://clinic.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200 and "nosniff" in preflight.headers.values()
    with _client(built, fake) as client:
        plain = client.post(
            "/api/chat", json=QUESTION, headers={"Origin": "https://clinic.example"}
        )
        assert "access-control-allow-origin" not in plain.headers


# -- privacy ------------------------------------------------------------------------------


def test_a_question_is_in_no_log_line_and_no_file(
    built: Settings, fake: FakeEmbedder, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    unique = "zebra-quasar-7f3a9 recovery"
    formatter = JsonFormatter()
    with caplog.at_level(logging.DEBUG), _client(built, fake) as client:
        client.post("/api/chat", json={"message": unique})
        client.post("/api/chat", json={"message": f"does {unique} cure autism?"})
        client.post("/api/feedback", json={"vote": "down", "kind": "no_answer", "question": unique})
        client.post(
            "/api/chat", json={"message": unique, "history": [{"role": "x", "text": unique}]}
        )
    lines = [formatter.format(record) for record in caplog.records]
    assert any('"route": "/api/chat"' in line for line in lines)  # requests were logged
    assert not [line for line in lines if "zebra-quasar" in line]
    assert not [line for line in lines if "testclient" in line]  # no raw client address
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"zebra-quasar" not in path.read_bytes(), path


def test_a_request_log_line_says_what_was_replied(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="faqbot"):
        response = client.post("/api/chat", json=QUESTION)
    line = next(r.fields for r in caplog.records if getattr(r, "fields", {}).get("route"))  # type: ignore[attr-defined]
    assert line["status"] == 200 and line["kind"] == "answer" and line["passage_ids"]
    assert line["index_version"] == response.headers["x-index-version"]
    assert line["client"] == client_hash("testclient") and line["latency_ms"] >= 0
