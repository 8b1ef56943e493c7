"""A short way through for the one request that matters most: a well-formed chat message.

FastAPI's routing, dependency solving and body parsing cost about 0.3 ms a request on this
machine once the model has run and emptied the CPU's caches (measured over HTTP, paired with
the same server without this layer). :class:`ChatLane` answers
``POST /api/chat`` with a JSON body the route's own model (:class:`ChatRequest`) accepts, through
the route's own function (:func:`bot.api.routes.chat_response`). Everything else goes on to the
app unchanged: other routes, other content types, every body the model rejects (so 422s come
from one place, the route), and every request while no index is loaded. The route stays
registered, so the OpenAPI schema still describes it.

It must sit inside :class:`bot.api.guard.Guard`, which has already limited the body's size,
rate limited the client and will add the headers and the log line.
"""

from __future__ import annotations

from bot.api.guard import ASGIApp, Receive, Scope, Send, headers, read_body, replay
from bot.api.routes import chat_response
from bot.api.schemas import CHAT_PATH, ChatRequest


class ChatLane:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_chat(scope):
            await self.app(scope, receive, send)
            return
        body, _ = await read_body(receive, limit=None)  # the guard has bounded it
        request = _parsed(body)
        response = chat_response(scope, request) if request is not None else None
        if response is None:  # not for this lane: the app reads the same body
            await self.app(scope, replay(body, receive), send)
            return
        await response(scope, receive, send)


def _is_chat(scope: Scope) -> bool:
    """A chat request sent as JSON. Only the plain media type: FastAPI also reads ``+json``
    types and a missing type its own way, so those go to it."""
    if scope["type"] != "http" or scope["path"] != CHAT_PATH or scope["method"] != "POST":
        return False
    types = headers(scope, "content-type")
    return len(types) == 1 and types[0].split(";")[0].strip().lower() == "application/json"


def _parsed(body: bytes) -> ChatRequest | None:
    """The request as the route's model reads it, or None for anything it would reject."""
    try:
        return ChatRequest.model_validate_json(body)
    except ValueError:  # pydantic's ValidationError included
        return None
