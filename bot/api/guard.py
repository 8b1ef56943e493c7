"""The outermost layer of every HTTP request, as plain ASGI so that it also covers errors.

In order: a request id; HEAD served as GET without the body; the Host check
(``FAQBOT_ALLOWED_HOSTS``, probes exempt); the body's time limit (408); the 16 KB body
limit, counted on the bytes that actually arrive (chunked bodies and a lying
``Content-Length`` included: FastAPI has no limit of its own); the per-client rate limit on
``/api/*`` (an emergency message still gets through); then the app, with the security headers
added to whatever it sends; an exception becomes a JSON 500 with the request id, never a stack
trace; and one JSON log line per request, without question text or client address.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders

from bot.api.errors import error_response
from bot.api.headers import SECURITY_HEADERS
from bot.api.replies import CHAT_BODY, chat_escalation, message_in, reply_response
from bot.api.schemas import CHAT_PATH
from bot.logjson import client_hash
from bot.models import Reply
from bot.ratelimit import RateLimiter
from bot.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 16 * 1024
#: How long a request body may take to arrive: one that stalls (a slow or malicious client)
#: would otherwise hold its connection and a task for good. 16 KB takes seconds on 2G.
BODY_SECONDS = 15.0
PROBES = ("/healthz", "/readyz")
#: Rate limited per client: the API, and the staff sign-in (no guessing the token).
LIMITED = ("/api/", "/staff/login")
#: Never cached: replies, and staff pages (they may show stored questions).
PRIVATE = ("/api/", "/staff", "/admin/")
log = logging.getLogger("faqbot")


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether a Host header (port ignored) is one of ``allowed`` (``*.`` matches subdomains)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
        if name == pattern:
            return True
    return False


class Guard:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["request_id"] = request_id = uuid.uuid4().hex[:16]
        address = self._client(scope)  # kept out of the request state: only its hash is logged
        state["client"] = client_hash(address)
        started, sent = time.perf_counter(), {"status": 0}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                self._add_headers(scope, MutableHeaders(scope=message), request_id)
            await send(message)

        head = scope["method"] == "HEAD"  # monitors and load balancers: a GET without its body
        app_scope = {**scope, "method": "GET"} if head else scope
        app_send: Send = _bodiless(send_with_headers) if head else send_with_headers
        try:
            refusal, receive = await self._screen(scope, receive, request_id, address)
            if refusal is not None:
                await refusal(scope, receive, app_send)
            else:
                await self.app(app_scope, receive, app_send)
        except Exception as exc:
            # where it failed, not the exception's message: that may quote what was asked
            trace = "".join(traceback.format_tb(exc.__traceback__))
            fields = {"request_id": request_id, "error": type(exc).__name__, "trace": trace}
            log.error("unhandled error", extra={"fields": fields})
            if not sent["status"]:
                text = "Something went wrong on our side. Please try again."
                await error_response(500, text, request_id)(scope, receive, app_send)
        finally:
            self._log(scope, sent["status"] or 500, started)

    def _client(self, scope: Scope) -> str:
        """The socket peer; the proxy's last X-Forwarded-For entry only when trusted."""
        peer = scope.get("client")
        address = str(peer[0]) if peer else "unknown"
        if self.settings.trust_proxy:
            # every X-Forwarded-For line in order (a proxy may add its own line rather than
            # append to the client's): the last hop is the one the proxy saw
            forwarded = ",".join(headers(scope, "x-forwarded-for"))
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            address = hops[-1] if hops else address
        return address

    async def _screen(
        self, scope: Scope, receive: Receive, request_id: str, address: str
    ) -> tuple[Any | None, Receive]:
        """A refusal to send instead of calling the app (or None), and the receive to use."""
        path = scope["path"]
        allowed = self.settings.allowed_hosts
        if allowed and path not in PROBES and not host_allowed(_header(scope, "host"), allowed):
            return error_response(
                400, "This server does not answer for that host name.", request_id
            ), receive
        declared = _header(scope, "content-length")
        if declared and (not declared.isdigit() or len(declared) > 9 or int(declared) > MAX_BODY):
            return self._too_large(request_id), receive
        try:
            async with asyncio.timeout(BODY_SECONDS):
                body, complete = await read_body(receive)
        except TimeoutError:
            text = "The request took too long to arrive. Please try again."
            return error_response(408, text, request_id, headers={"Connection": "close"}), receive
        if not complete:
            return self._too_large(request_id), receive
        again = replay(body, receive)
        if path == CHAT_PATH:  # an emergency in a body the route will not answer still escalates
            scope["state"][CHAT_BODY] = body
        if path.startswith(LIMITED):
            wait = self.limiter.retry_after(address)
            if wait is not None:
                # an emergency is escalated however many requests came before it: here, so
                # that nothing a body holds can get an over-limit client an answer
                urgent = self._escalation(scope, body)
                if urgent is not None:
                    return reply_response(scope, urgent, None), again
                text = f"Too many requests. Please wait {wait} seconds and try again."
                return error_response(
                    429, text, request_id, headers={"Retry-After": str(wait)}
                ), again
        return None, again

    @staticmethod
    def _too_large(request_id: str) -> Any:
        return error_response(
            413, f"The request body must be at most {MAX_BODY} bytes.", request_id
        )

    @staticmethod
    def _escalation(scope: Scope, body: bytes) -> Reply | None:
        """The escalation of a chat request that describes an emergency, else None."""
        if scope["path"] != CHAT_PATH or not body:
            return None
        return chat_escalation(scope["app"], message_in(body))

    @staticmethod
    def _add_headers(scope: Scope, headers: MutableHeaders, request_id: str) -> None:
        # a route may send its own policy (/embed lets the clinic sites frame it)
        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                headers[name] = value
        if scope["path"].startswith(PRIVATE):
            headers["Cache-Control"] = "no-store"
        headers["X-Request-ID"] = request_id

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        """One line per request: what happened, never what was asked or who asked it."""
        state = scope.get("state", {})
        fields = {
            "request_id": state.get("request_id"),
            "method": scope["method"],
            "route": scope["path"],  # the path only: query strings can hold search text
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "client": state.get("client"),
        }
        for name in ("kind", "passage_ids", "index_version"):
            if name in state:
                fields[name] = state[name]
        log.info("request", extra={"fields": fields})


def _bodiless(send: Send) -> Send:
    """A send that passes on the response's status and headers (its Content-Length too, as
    HEAD wants) and drops its body."""

    async def bodiless(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return bodiless


def _header(scope: Scope, name: str) -> str:
    found = headers(scope, name)
    return found[0] if found else ""


def headers(scope: Scope, name: str) -> list[str]:
    """Every value of the request header ``name`` (lower case), decoded as HTTP says."""
    wanted = name.encode()
    return [
        str(value.decode("latin-1"))
        for key, value in scope.get("headers", [])
        if key.lower() == wanted
    ]


async def read_body(receive: Receive, limit: int | None = MAX_BODY) -> tuple[bytes, bool]:
    """The request body, stopping as soon as it passes ``limit`` (then complete is False)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), True


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then waits on the real one."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
