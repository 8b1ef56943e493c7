"""Turn validation errors into messages a person can read (422), never a stack trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from bot.answer import escalation
from bot.api.schemas import CHAT_PATH, MAX_HISTORY, MAX_MESSAGE
from bot.models import Reply, reply_to_dict

_BY_TYPE = {
    "missing": "is required",
    "string_type": "must be text",
    "list_type": "must be a list of turns",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "literal_error": "must be 'user' or 'bot'",
}


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query")]
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name or "the request body"


def _describe(error: dict[str, Any]) -> str:
    kind, field = error.get("type", ""), _field(error.get("loc", ()))
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "string_too_long" and field == "message":
        return f"message must be at most {MAX_MESSAGE} characters."
    if kind == "too_long" and field == "history":
        return f"history may hold at most {MAX_HISTORY} turns."
    if kind == "value_error":
        return f"{field} {error.get('msg', '').removeprefix('Value error, ')}."
    if field == "the request body" and kind in ("missing", "model_attributes_type", "dict_type"):
        return "The request body must be a JSON object with a 'message'."
    return f"{field} {_BY_TYPE.get(kind, error.get('msg', 'is not valid').lower())}."


def chat_escalation(app: Any, message: object) -> Reply | None:
    """The escalation for a chat message that describes an emergency, else None (also while
    no triage rules are loaded, or when ``message`` is not text). For chat requests that are
    not answered: invalid in form, rate limited, or sent while no index is loaded. Triage
    reads the whole message, whatever its size."""
    rules = getattr(app.state, "rules", None)
    if rules is None or not isinstance(message, str):
        return None
    return escalation(message, rules, app.state.settings)


def _emergency_in(request: Request, body: Any) -> JSONResponse | None:
    """An escalation when a chat request that is invalid only in form (a message over 1000
    characters, say) describes an emergency."""
    if request.url.path != CHAT_PATH or not isinstance(body, dict):
        return None
    reply = chat_escalation(request.app, body.get("message"))
    if reply is None:
        return None
    return JSONResponse(reply_to_dict(reply), headers={"Cache-Control": "no-store"})


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with a readable first message and every problem listed (an emergency excepted)."""
    assert isinstance(exc, RequestValidationError)
    emergency = _emergency_in(request, exc.body)
    if emergency is not None:
        return emergency
    details = list(dict.fromkeys(_describe(dict(e)) for e in exc.errors()))
    first = details[0] if details else "Invalid request."
    return JSONResponse(
        status_code=422,
        content={"error": first, "details": details, "request_id": _request_id(request)},
    )


def _request_id(request: Request) -> str | None:
    """The id the guard gave this request; it is in the log line too."""
    request_id = request.scope.get("state", {}).get("request_id")
    return str(request_id) if request_id else None


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """HTTP errors (404, 405, 503 …) as ``{"error": …}``, the same shape as 422s."""
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": str(exc.detail), "details": [], "request_id": _request_id(request)},
        headers=getattr(exc, "headers", None),
    )
