"""JSON routes: the chat API and the health probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.answer import escalation
from bot.api.schemas import ChatReply, ChatRequest, ErrorOut
from bot.models import Turn, reply_to_dict
from bot.safety import SafetyRules
from bot.service import Bot

router = APIRouter()


@router.post(
    "/api/chat",
    response_model=ChatReply,
    responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def chat(body: ChatRequest, request: Request) -> dict[str, Any]:
    """Answer one message. The server keeps no state: send earlier turns as ``history``.

    Emergencies are escalated even while the index is not ready.
    """
    message = body.message.strip()
    bot: Bot | None = request.app.state.bot
    if bot is not None:
        history = [Turn(turn.role, turn.text) for turn in body.history]
        return reply_to_dict(bot.answerer.reply(message, history))
    rules: SafetyRules | None = request.app.state.rules
    urgent = escalation(message, rules, request.app.state.settings) if rules else None
    if urgent is not None:
        return reply_to_dict(urgent)
    raise HTTPException(503, "The answer index is not ready; please try again shortly.")


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
        "index_version": manifest["build_id"],
        "model": manifest["model"],
        "counts": manifest["counts"],
    }
