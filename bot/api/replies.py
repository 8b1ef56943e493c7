"""A chat reply as an HTTP response, and the escalation of chat requests that are not answered.

Shared by the route, the chat lane, the guard (over-limit emergencies) and the error handlers
(emergencies in invalid requests), so that every reply is sent, and logged, one way.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from bot.answer import escalation
from bot.models import Reply, reply_to_dict
from bot.service import Bot

#: Where the guard leaves a chat request's body as it arrived, for the emergency check.
CHAT_BODY = "chat_body"


def reply_response(scope: MutableMapping[str, Any], reply: Reply, bot: Bot | None) -> Response:
    """The reply as JSON, telling the log line (through the request's state) what was replied
    (kind, passage ids, never text) and the client which index version the whole reply came
    from.

    The reply is built by the library in the contract's shape (tests check it against
    ``ChatReply``), so it is serialised directly: re-validating it cost more than answering.
    """
    state = scope.setdefault("state", {})
    state["kind"] = reply.kind
    state["passage_ids"] = [quote.passage_id for quote in reply.quotes]
    headers = {}
    if bot is not None:
        state["index_version"] = headers["X-Index-Version"] = bot.version
    return JSONResponse(reply_to_dict(reply), headers=headers)


def chat_escalation(app: Any, message: object) -> Reply | None:
    """The escalation for a chat message that describes an emergency, else None (also while
    no triage rules are loaded, or when ``message`` is not text). For chat requests that are
    not answered: invalid in form, rate limited, or sent while no index is loaded. Triage
    reads the whole message, whatever its size."""
    rules = getattr(app.state, "rules", None)
    if rules is None or not isinstance(message, str):
        return None
    return escalation(message, rules, app.state.settings)


def message_in(body: bytes) -> str:
    """What triage reads of a chat request body that is not answered (invalid, or over the
    rate limit): its JSON object's ``message`` when that is text, read as FastAPI reads a body
    (so a byte order mark or UTF-16 too); otherwise the whole body as text, bytes that are
    not UTF-8 replaced, so that an emergency in a body too malformed to answer is still seen."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than json can go
        parsed = None
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else body.decode("utf-8", errors="replace")
