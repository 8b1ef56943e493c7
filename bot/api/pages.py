"""HTML pages and the widget script, rendered with Jinja2 (autoescaping on for every template).

- ``/``: the patient chat page; may not be framed.
- ``/embed``: the same chat, compact, for the widget's iframe; framed only by this server and
  the origins in ``FAQBOT_EMBED_ORIGINS``.
- ``/widget.js``: the one script a clinic adds to its site; ``/widget-demo`` shows it working.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.answer import DISCLAIMER
from bot.api.headers import embed_policy
from bot.settings import Settings

router = APIRouter()
WEB_DIR = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = Jinja2Templates(directory=WEB_DIR / "templates")
#: A greeting or title longer than this is cut: they come from a clinic's page, not a person.
MAX_GREETING = 300
MAX_TITLE = 80
_DIALABLE = re.compile(r"\+?[0-9][0-9 ().-]*[0-9]|[0-9]")
_NUMBER = re.compile(r"\+?[0-9][0-9 -]*[0-9]")  # a phone number among a crisis line's words


def _page(request: Request, template: str, **context: object) -> HTMLResponse:
    settings = request.app.state.settings
    values = {
        "clinic_name": settings.clinic_name,
        "disclaimer": DISCLAIMER,
        "call_numbers": "|".join(call_numbers(settings)),
        **context,
    }
    return TEMPLATES.TemplateResponse(request, template, values)


def call_numbers(settings: Settings) -> list[str]:
    """The phone numbers an emergency reply gives, as it writes them, that the chat page makes
    links a phone calls with one tap: the emergency number, the clinic's phone and the number
    in the crisis line ("Samaritans 116 123": its longest run of digits, so not the "24" of
    "24/7"). Only numbers a phone can dial: digits, spaces, dashes, dots, brackets and a
    leading +; not "0800-MS-HELP" or "... ext 12"."""
    runs = _NUMBER.findall(settings.crisis_line or "")
    crisis = max(runs, key=lambda run: sum(c.isdigit() for c in run), default=None)
    found = [settings.emergency_number, settings.clinic_phone, crisis]
    return [n.strip() for n in found if n and _DIALABLE.fullmatch(n.strip())]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def chat_page(request: Request) -> HTMLResponse:
    """The patient chat page."""
    return _page(request, "chat.html")


@router.get("/embed", response_class=HTMLResponse, include_in_schema=False)
def embed_page(request: Request, greeting: str = "", title: str = "") -> HTMLResponse:
    """The compact chat the widget frames; the greeting and title come from the widget tag.

    They are shown only inside a frame, which only the configured clinic sites may create:
    opened directly, a crafted link could otherwise put words in the clinic's mouth.
    """
    if request.headers.get("sec-fetch-dest") != "iframe":
        greeting, title = "", ""
    response = _page(
        request,
        "embed.html",
        greeting=greeting.strip()[:MAX_GREETING],
        title=title.strip()[:MAX_TITLE] or "Questions about MS and stem-cell therapy",
    )
    response.headers["Content-Security-Policy"] = embed_policy(request.app.state.settings)
    response.headers["Vary"] = "Sec-Fetch-Dest"  # no cache may hand the framed page to others
    return response


@router.get("/widget-demo", response_class=HTMLResponse, include_in_schema=False)
def widget_demo(request: Request) -> HTMLResponse:
    """A stand-in clinic page carrying the widget tag, to see and test the widget."""
    return _page(request, "widget_demo.html")


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    """The widget a clinic site loads with one script tag."""
    return FileResponse(
        WEB_DIR / "static" / "widget.js",
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )
