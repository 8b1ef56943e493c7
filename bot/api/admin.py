"""Live reload: ``POST /admin/reload`` (staff token) or SIGHUP loads the newly built index beside
the serving one, runs the canary questions, and swaps only if they pass. With
``FAQBOT_RELOAD_POLL_SECONDS`` set, each process also notices a newly published build by itself:
that is how every worker of ``faqbot serve --workers N`` (and every replica sharing the index
folder) follows ``faqbot build``, since a request or a signal reaches only one process.

Requests already running keep the bot object they started with, so every reply comes wholly
from one index version; the swap itself is one reference assignment.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bot import service
from bot.api.schemas import ErrorOut
from bot.api.staff import Staff
from bot.index import current_path

router = APIRouter()
log = logging.getLogger("faqbot")
_LOCK = threading.Lock()


def reload_app(app: FastAPI) -> tuple[bool, dict[str, Any]]:
    """Try to serve the index now published; (swapped, what happened). Never raises: a failed
    reload leaves the serving index in place and says why."""
    if not _LOCK.acquire(blocking=False):
        return False, {"error": "A reload is already running; try again when it ends."}
    try:
        current: service.Bot | None = app.state.bot
        previous = current.version if current else None
        try:
            # an embedder injected at start (tests) is kept; otherwise the new build's own
            # query embedder is chosen afresh (its ONNX export, when verified)
            bot = service.reload_bot(app.state.settings, app.state.injected_embedder)
        except Exception as exc:  # whatever goes wrong, the serving index stays
            kept = f"kept index {previous}" if previous else "still not ready"
            reason = str(exc) if isinstance(exc, service.ReloadError) else repr(exc)
            log.error("reload refused: %s", reason, extra={"fields": {"kept": previous}})
            return False, {"error": f"Reload refused ({kept}): {reason}", "index_version": previous}
        app.state.bot, app.state.rules, app.state.not_ready = bot, bot.rules, None
        log.info("reloaded", extra={"fields": {"index_version": bot.version, "previous": previous}})
        return True, {"status": "reloaded", "index_version": bot.version, "previous": previous}
    finally:
        _LOCK.release()


@router.post("/admin/reload", responses={401: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def reload(request: Request, _: Staff) -> Any:
    """Load the index ``faqbot build`` last published; 409 with the reason if it is refused."""
    swapped, result = reload_app(request.app)
    if swapped:
        return result
    return JSONResponse({**result, "details": []}, status_code=409)


def on_sighup(app: FastAPI) -> None:
    """Reload on SIGHUP, off the event loop. Only the main thread can own signal handlers,
    so an app run any other way (tests) simply has no SIGHUP reload."""
    try:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reload_app, app))
    except (NotImplementedError, RuntimeError, ValueError):
        log.info("SIGHUP reload unavailable in this thread")


def published_build(app: FastAPI) -> str:
    """The build id ``faqbot build`` last published (the ``current`` link's target), or ""."""
    try:
        return current_path(app.state.settings.index_dir).resolve(strict=True).name
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return ""


async def watch_builds(app: FastAPI, seconds: float) -> None:
    """Every ``seconds``, reload when a build other than the serving one has been published.
    A build that is refused is not retried until another one is published."""
    loop = asyncio.get_running_loop()
    refused = ""
    while True:
        await asyncio.sleep(seconds)
        bot: service.Bot | None = app.state.bot
        published = published_build(app)
        if published in ("", refused) or (bot is not None and bot.version == published):
            continue
        swapped, _ = await loop.run_in_executor(None, reload_app, app)
        refused = "" if swapped else published
