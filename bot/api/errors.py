"""Turn validation errors into messages a person can read (422), never a stack trace."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from bot.api.replies import CHAT_BODY, chat_escalation, message_in, reply_response
from bot.api.schemas import CHAT_PATH

_BY_TYPE = {
    "missing": "is required",
    "string_type": "must be text",
    "string_unicode": "must be text",
    "list_type": "must be a list",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
}


class ErrorResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error may repeat what a client sent,
    and a lone surrogate (valid in a JSON string) cannot be encoded as UTF-8."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(
    status: int,
    text: str,
    request_id: str | None,
    details: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> ErrorResponse:
    """Every error's body: ``{"error": text, "details": [...], "request_id": ...}``."""
    content = {"error": text, "details": details or [], "request_id": request_id}
    return ErrorResponse(content, status_code=status, headers=headers)


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query")]
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name or "the request body"


def _describe(error: dict[str, Any], path: str) -> str:
    kind, field = error.get("type", ""), _field(error.get("loc", ()))
    context = error.get("ctx") or {}
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "string_too_long":
        return f"{field} must be at most {context.get('max_length')} characters."
    if kind == "too_long":
        items = "turns" if field == "history" else "items"
        return f"{field} may hold at most {context.get('max_length')} {items}."
    if kind == "literal_error":
        return f"{field} must be {context.get('expected')}."
    if kind == "value_error":
        return f"{field} {error.get('msg', '').removeprefix('Value error, ')}."
    if field == "the request body" and kind in ("missing", "model_attributes_type", "dict_type"):
        wanted = " with a 'message'" if path == CHAT_PATH else ""
        return f"The request body must be a JSON object{wanted}."
    if kind == "list_type" and field == "history":
        return "history must be a list of turns."
    return f"{field} {_BY_TYPE.get(kind, error.get('msg', 'is not valid').lower())}."


def _emergency_in(request: Request) -> Response | None:
    """An escalation when a chat request the route will not answer (a message over 1000
    characters, a body that is not JSON, not UTF-8 or nested too deep) describes an
    emergency. Reads the body as it arrived, which the guard keeps."""
    arrived = request.scope.get("state", {}).get(CHAT_BODY)
    if request.url.path != CHAT_PATH or arrived is None:
        return None
    reply = chat_escalation(request.app, message_in(arrived))
    return None if reply is None else reply_response(request.scope, reply, None)


async def validation_error(request: Request, exc: Exception) -> Response:
    """422 with a readable first message and every problem listed (an emergency excepted)."""
    assert isinstance(exc, RequestValidationError)
    emergency = _emergency_in(request)
    if emergency is not None:
        return emergency
    path = request.url.path
    return _invalid(request, list(dict.fromkeys(_describe(dict(e), path) for e in exc.errors())))


def _invalid(request: Request, details: list[str]) -> JSONResponse:
    first = details[0] if details else "Invalid request."
    return error_response(422, first, _request_id(request), details)


def _request_id(request: Request) -> str | None:
    """The id the guard gave this request; it is in the log line too."""
    request_id = request.scope.get("state", {}).get("request_id")
    return str(request_id) if request_id else None


async def http_error(request: Request, exc: Exception) -> Response:
    """HTTP errors (404, 405, 503 …) as ``{"error": …}``, the same shape as 422s."""
    assert isinstance(exc, HTTPException)
    unreadable = _unreadable(exc)
    if unreadable is not None:
        return _emergency_in(request) or _invalid(request, [unreadable])
    headers = getattr(exc, "headers", None)
    return error_response(exc.status_code, str(exc.detail), _request_id(request), headers=headers)


def _unreadable(exc: HTTPException) -> str | None:
    """Why a body could not be read, when ``exc`` is FastAPI's 400 for a JSON body that
    ``json`` could not even decode (it makes 422s only of JSON syntax errors)."""
    cause = exc.__cause__
    if exc.status_code != 400 or not isinstance(cause, ValueError | RecursionError):
        return None
    if isinstance(cause, UnicodeDecodeError):
        return "The request body must be UTF-8 text."
    if isinstance(cause, RecursionError):
        return "The request body is nested too deeply."
    return "The request body is not valid JSON."
