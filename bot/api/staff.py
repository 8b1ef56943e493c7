"""Staff lookup: the /staff page, its login, and ``GET /api/search``.

Everything here answers 404 while ``FAQBOT_STAFF_TOKEN`` is unset, so a clinic that does not
use it exposes nothing. Staff prove themselves with ``Authorization: Bearer <token>`` or by
typing the token into the login form, which sets a signed, HttpOnly, SameSite=Strict session
cookie (the only cookie this server ever sets, and never on a patient's page).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.api.pages import TEMPLATES
from bot.api.schemas import MAX_MESSAGE, ErrorOut, SearchOut
from bot.lookup import MAX_RESULTS, Found, lookup
from bot.models import reply_to_dict, source_to_dict
from bot.service import Bot

router = APIRouter()
COOKIE = "faqbot_staff"
SESSION_SECONDS = 8 * 3600
_MAX_FORM = 2048
_SESSION = re.compile(r"[0-9]{1,12}\.[0-9a-f]{64}")


def _token(request: Request) -> str:
    """The configured staff token; 404 when staff features are off."""
    secret = request.app.state.settings.staff_token
    if secret is None:
        raise HTTPException(404, "Not Found")
    return str(secret.get_secret_value())


def _signature(token: str, expires: int) -> str:
    return hmac.new(token.encode(), f"staff-session:{expires}".encode(), hashlib.sha256).hexdigest()


def session_value(token: str, now: float | None = None) -> str:
    """A session cookie value: its expiry time, signed with the token (a new token ends every
    session at once)."""
    expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
    return f"{expires}.{_signature(token, expires)}"


def _valid_session(token: str, value: str) -> bool:
    if not _SESSION.fullmatch(value):  # before parsing: any bytes may arrive in a cookie
        return False
    expires, _, signature = value.partition(".")
    if int(expires) < time.time():
        return False
    return hmac.compare_digest(signature, _signature(token, int(expires)))


def is_staff(request: Request, token: str) -> bool:
    """Whether the request carries the staff token or a valid staff session."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    return _valid_session(token, request.cookies.get(COOKIE, ""))


def require_staff(request: Request) -> None:
    """A dependency: 404 when staff features are off, 401 without the token."""
    if not is_staff(request, _token(request)):
        raise HTTPException(401, "Staff token required.", headers={"WWW-Authenticate": "Bearer"})


Staff = Annotated[None, Depends(require_staff)]


def _ready_bot(request: Request) -> Bot:
    bot: Bot | None = request.app.state.bot
    if bot is None:
        raise HTTPException(503, "The answer index is not ready; please try again shortly.")
    return bot


def _hit(found: Found) -> dict[str, Any]:
    return {
        "passage_id": found.passage.id,
        "score": found.score,
        "audience": found.source.audience,
        "headings": list(found.passage.headings),
        "segments": [{"text": text, "match": match} for text, match in found.segments],
        "answer": found.answer,
        "source": source_to_dict(found.source),
    }


@router.get(
    "/api/search",
    response_model=SearchOut,
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def search(
    request: Request,
    _: Staff,
    q: Annotated[str, Query(min_length=1, max_length=MAX_MESSAGE)],
    k: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 10,
) -> dict[str, Any]:
    """Staff search over every passage, staff-only sources included, with what the patient
    bot would reply to the same text."""
    bot = _ready_bot(request)
    text = q.strip()
    if not text:
        raise HTTPException(422, "q must contain some text, not only spaces.")
    return {
        "query": text,
        "results": [_hit(found) for found in lookup(bot.retriever, text, k)],
        "patient_reply": reply_to_dict(bot.answerer.reply(text)),
    }


def _login_page(request: Request, status: int, error: str | None = None) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "staff_login.html", {"error": error}, status_code=status
    )


@router.get("/staff", response_class=HTMLResponse, include_in_schema=False)
def staff_page(request: Request) -> HTMLResponse:
    """The staff lookup page, or its login form (401) without a valid session."""
    if not is_staff(request, _token(request)):
        return _login_page(request, 401)
    feedback = request.app.state.feedback
    summary = feedback.summary() if feedback is not None else None
    return TEMPLATES.TemplateResponse(
        request,
        "staff.html",
        {"summary": summary, "log_questions": request.app.state.settings.log_questions},
    )


@router.post("/staff/login", include_in_schema=False)
async def login(request: Request) -> Response:
    """Check the typed token; on success set the session cookie and go to /staff."""
    token = _token(request)
    body = (await request.body())[:_MAX_FORM].decode("utf-8", errors="replace")
    given = parse_qs(body).get("token", [""])[0].strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _login_page(request, 401, "That token is not right. Please check it and try again.")
    response = RedirectResponse("/staff", status_code=303)
    response.set_cookie(
        COOKIE,
        session_value(token),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return response


def _https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS: directly, or through a trusted proxy that
    terminated TLS (then the cookie must be Secure although this hop is plain HTTP)."""
    if request.url.scheme == "https":
        return True
    trusted = request.app.state.settings.trust_proxy
    return bool(trusted) and request.headers.get("x-forwarded-proto", "").lower() == "https"


@router.post("/staff/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    """End the staff session."""
    _token(request)
    response = RedirectResponse("/staff", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response
