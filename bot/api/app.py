"""The FastAPI app factory. Nothing heavy happens at import time: the lifespan loads the model
and the verified index once, when the server starts."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from bot import logjson, service
from bot.api import admin, pages, routes, staff
from bot.api.errors import http_error, validation_error
from bot.api.guard import Guard
from bot.api.lane import ChatLane
from bot.api.pages import WEB_DIR
from bot.embed import Embedder, EmbedderError
from bot.feedback import FeedbackStore
from bot.index import IndexError_, LoadedIndex
from bot.safety_rules import SafetyRulesError, load_rules
from bot.settings import Settings

log = logging.getLogger("faqbot")


def _lifespan(
    settings: Settings, embedder: Embedder | None, index: LoadedIndex | None
) -> Callable[[FastAPI], object]:
    preloaded = [index] if index is not None else []  # used once: reloads load afresh

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.bot, app.state.rules, app.state.not_ready = None, None, "starting"
        app.state.injected_embedder = embedder  # reloads keep an embedder given to the app
        app.state.feedback = _feedback_store(settings)
        # taken now and dropped before serving: the generator's frame lives until shutdown, and
        # a reference kept there would hold the first index in memory after every reload
        handed = preloaded.pop() if preloaded else None
        try:
            # triage rules first and on their own: emergencies are escalated even when the
            # index cannot be loaded
            app.state.rules = load_rules(settings.knowledge_dir)
            app.state.bot = service.load_bot(settings, embedder, app.state.rules, handed)
            app.state.not_ready = None
        except (SafetyRulesError, IndexError_, EmbedderError) as exc:
            app.state.not_ready = str(exc)
            log.error("not ready: %s", exc)
        handed = None
        admin.on_sighup(app)
        watcher = None
        if settings.reload_poll_seconds:
            watcher = asyncio.create_task(admin.watch_builds(app, settings.reload_poll_seconds))
        yield
        if watcher is not None:
            watcher.cancel()
        if app.state.feedback is not None:
            app.state.feedback.close()

    return lifespan


def _feedback_store(settings: Settings) -> FeedbackStore | None:
    """The feedback database, or None (feedback off, answers unaffected) if it cannot open."""
    try:
        return FeedbackStore(
            settings.feedback_db, settings.log_questions, settings.question_retention_days
        )
    except (OSError, sqlite3.Error) as exc:
        log.error("feedback store unavailable at %s: %s", settings.feedback_db, exc)
        return None


def create_app(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    index: LoadedIndex | None = None,
) -> FastAPI:
    """A new app serving ``settings``' index; ``embedder`` replaces the real model in tests,
    ``index`` is one already loaded and verified, served at start instead of loading it again."""
    settings = settings or Settings()
    app = FastAPI(
        title="MS stem-cell therapy FAQ bot",
        summary="Answers only with verbatim, cited quotes from curated sources.",
        lifespan=_lifespan(settings, embedder, index),  # type: ignore[arg-type]
        # the schema stays at /openapi.json; the docs pages load scripts from a CDN, which
        # this server's Content-Security-Policy (script-src 'self') blocks
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_middleware(ChatLane)  # added first: the innermost layer, inside CORS and the guard
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization"],
            max_age=600,
        )
    app.add_middleware(Guard, settings=settings)  # added last: the outermost layer
    app.include_router(routes.router)
    app.include_router(pages.router)
    app.include_router(staff.router)
    app.include_router(admin.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    return app


def create_worker_app() -> FastAPI:
    """The app as each worker process of ``faqbot serve --workers N`` makes it: settings from
    the environment (the command puts its own there), logs as JSON lines."""
    logjson.configure()
    return create_app(Settings())
