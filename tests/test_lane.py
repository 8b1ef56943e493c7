"""The chat lane answers exactly as the FastAPI route would: same status, body and headers for
every request, valid or not, and it really takes the valid ones."""

import json
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
from fastapi.testclient import TestClient
from hypothesis import strategies as st

import bot.api.lane as lane
from bot.api import create_app
from bot.api.lane import ChatLane
from bot.settings import Settings
from tests.conftest import FakeEmbedder

VARYING = ("x-request-id", "date")  # differ between any two requests
Clients = tuple[TestClient, TestClient]


@pytest.fixture
def clients(built: Settings, fake_embedder: FakeEmbedder) -> Iterator[Clients]:
    """A client of the app as served, and one of the same app without the lane."""
    settings = built.model_copy(update={"rate_limit": 0})
    plain = create_app(settings, fake_embedder)
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not ChatLane]
    with TestClient(create_app(settings, fake_embedder)) as served, TestClient(plain) as bare:
        yield served, bare


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per request the lane answered itself (True) or passed on (False)."""
    seen: list[bool] = []
    answer = lane.chat_response

    def counted(scope: Any, body: Any) -> Any:
        response = answer(scope, body)
        seen.append(response is not None)
        return response

    monkeypatch.setattr(lane, "chat_response", counted)
    return seen


def _outcome(client: TestClient, body: bytes, content_type: str | None) -> tuple[Any, ...]:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/chat", content=body, headers=headers)
    try:
        payload = response.json()
    except ValueError:
        payload = response.text
    if isinstance(payload, dict):
        payload.pop("request_id", None)
    kept = {k: v for k, v in response.headers.items() if k not in VARYING}
    return response.status_code, payload, kept


def _same(clients: Clients, body: bytes, content_type: str | None) -> int:
    served, bare = clients
    with_lane, without = _outcome(served, body, content_type), _outcome(bare, body, content_type)
    assert with_lane == without, (body[:200], content_type)
    status: int = with_lane[0]
    return status


VALID = [
    {"message": "What is AHSCT?"},
    {"message": "  What are the risks?  ", "history": []},
    {"message": "and the risks of that?", "history": [{"role": "user", "text": "What is AHSCT?"}]},
    {"message": "hello"},
    {"message": "Is there a cure for autism?"},  # no answer: counted in the background
    {"message": "I have a fever of 39 after my transplant"},  # emergency
    {"message": "x" * 1000},
    {"message": "What is AHSCT?", "extra": 1},
    {"message": "\u200b🙂"},  # a zero-width space, then something that shows
    {"message": "\U0001fae8"},  # an emoji newer than Python 3.11's Unicode tables
]
INVALID = [
    b"",
    b" ",
    b"{",
    b"[]",
    b'"What is AHSCT?"',
    b"null",
    b'{"message": ""}',
    b'{"message": "   "}',
    b'{"message": 5}',
    b'{"message": null}',
    b'{"message": ["a"]}',
    b'{"history": []}',
    json.dumps({"message": "x" * 1001}).encode(),
    json.dumps({"message": "I can't breathe " * 70}).encode(),  # too long, yet an emergency
    json.dumps({"message": "hi", "history": [{"role": "user", "text": "a"}] * 21}).encode(),
    b'{"message": "hi", "history": [{"role": "doctor", "text": "a"}]}',
    b'{"message": "hi", "history": [{"role": "user"}]}',
    b'{"message": "hi", "history": {"role": "user", "text": "a"}}',
    b'{"message": "What is AHSCT?"} trailing',
    b'{"message": "first", "message": "What is AHSCT?"}',
    b'{"message": "\\ud800 lone surrogate"}',
    b'\xef\xbb\xbf{"message": "What is AHSCT?"}',  # a byte order mark
    b'{"message": "caf\xe9"}',  # not UTF-8
    '{"message": "What is AHSCT?"}'.encode("utf-16"),
    b'{"message": NaN}',
]
TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/merge-patch+json",
    "text/plain",
    None,
]


def test_valid_requests_are_answered_by_the_lane_as_the_route_would(
    clients: Clients, taken: list[bool]
) -> None:
    for body in VALID:
        assert _same(clients, json.dumps(body).encode(), "application/json") == 200
    assert taken == [True] * len(VALID)


def test_every_other_request_gets_the_routes_own_reply(
    clients: Clients,
) -> None:
    statuses = {_same(clients, body, kind) for body in INVALID for kind in TYPES}
    # 200: an invalid request that describes an emergency; a body not UTF-8 is a 422 too
    assert statuses == {200, 422}


def test_other_media_types_are_left_to_the_route(clients: Clients, taken: list[bool]) -> None:
    for content_type in TYPES[3:]:
        _same(clients, json.dumps(VALID[0]).encode(), content_type)
    assert taken == []


def test_a_chat_request_is_left_to_the_route_while_no_index_is_loaded(
    settings: Settings, fake_embedder: FakeEmbedder, taken: list[bool]
) -> None:
    with TestClient(create_app(settings, fake_embedder)) as client:  # nothing built
        assert client.post("/api/chat", json={"message": "What is AHSCT?"}).status_code == 503
    assert taken == [False]


_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["What is AHSCT?", "risks?", " "]))
_VALUE = st.one_of(_TEXT, st.integers(), st.none(), st.booleans(), st.lists(_TEXT, max_size=2))
_TURN = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "bot", "nurse"]), "text": _VALUE}),
    _VALUE,
)
_BODY = st.one_of(
    st.fixed_dictionaries(
        {"message": _VALUE},
        optional={"history": st.one_of(st.lists(_TURN, max_size=3), _VALUE), "x": _VALUE},
    ),
    _VALUE,
)


def test_generated_bodies_get_the_same_reply_either_way(
    clients: Clients,
) -> None:
    statuses: set[int] = set()

    @hypothesis.given(body=_BODY)
    @hypothesis.settings(max_examples=150, deadline=None, database=None)
    def same(body: Any) -> None:
        statuses.add(_same(clients, json.dumps(body).encode(), "application/json"))

    same()
    assert {200, 422} <= statuses
