"""JSON routes: the chat API and the health probes."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from bot.api.replies import chat_escalation, reply_response
from bot.api.schemas import CHAT_PATH, ChatReply, ChatRequest, ErrorOut, FeedbackIn, FeedbackOut
from bot.feedback import FeedbackStore
from bot.models import Turn
from bot.service import Bot

router = APIRouter()
log = logging.getLogger("faqbot")


@router.post(
    CHAT_PATH,
    response_model=ChatReply,
    responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def chat(body: ChatRequest, request: Request) -> Response:
    """Answer one message. The server keeps no state: send earlier turns as ``history``.

    Emergencies are escalated even while the index is not ready.
    """
    # answered on the event loop, not in a worker thread: an answer is a few milliseconds of
    # CPU, and the thread hop cost more than it bought (measured: ~0.2 ms less a request
    # in-process; 16 clients over HTTP, 780 against 500 requests a second)
    answered = chat_response(request.scope, body)
    if answered is not None:
        return answered
    urgent = chat_escalation(request.app, body.message.strip())
    if urgent is not None:
        return reply_response(request.scope, urgent, None)
    raise HTTPException(503, "The answer index is not ready; please try again shortly.")


def chat_response(scope: MutableMapping[str, Any], body: ChatRequest) -> Response | None:
    """The loaded bot's reply to a valid chat request, or None while no index is loaded.

    Shared by the route and :mod:`bot.api.lane`, so both answer alike.
    """
    state = scope["app"].state
    bot: Bot | None = state.bot
    if bot is None:
        return None
    message = body.message.strip()
    history = [Turn(turn.role, turn.text) for turn in body.history]
    reply = bot.answerer.reply(message, history)
    response = reply_response(scope, reply, bot)
    if reply.kind == "no_answer":
        # counted after the reply is sent: the patient does not wait for the disk
        response.background = BackgroundTask(_count_unanswered, state.feedback, message)
    return response


def _count_unanswered(feedback: FeedbackStore | None, message: str) -> None:
    """Count a question the sources do not cover, for the staff page. A failing database
    must never cost a patient the answer, so errors are logged and passed over."""
    if feedback is None:
        return
    try:
        feedback.unanswered(message)
    except sqlite3.Error as exc:
        log.error("could not count an unanswered question: %s", exc)


@router.post(
    "/api/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def feedback(body: FeedbackIn, request: Request) -> dict[str, bool]:
    """A thumbs up or down on one reply. The question text is kept only when the server is
    configured to log questions (``FAQBOT_LOG_QUESTIONS``)."""
    store: FeedbackStore | None = request.app.state.feedback
    if store is None:
        raise HTTPException(503, "Feedback cannot be stored right now.")
    bot: Bot | None = request.app.state.bot
    if bot is not None:
        known = bot.index.store.passage_ids
        unknown = [pid for pid in body.passage_ids if pid not in known]
        if unknown:
            raise HTTPException(422, f"passage_ids names a passage this index lacks: {unknown[0]}")
    store.vote(body.vote, body.kind, body.passage_ids, body.question)
    return {"stored": True}


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorOut}})
def readyz(request: Request) -> Any:
    """200 once the index is loaded and verified; 503 with the reason otherwise."""
    bot: Bot | None = request.app.state.bot
    if bot is None:
        reason = request.app.state.not_ready or "starting"
        return JSONResponse({"status": "not ready", "error": reason}, status_code=503)
    manifest = bot.index.manifest
    return {
        "status": "ready",
        "index_version": bot.version,
        "model": manifest["model"],
        "counts": manifest["counts"],
    }
