"""HTML pages, rendered with Jinja2 (autoescaping on for every template)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.answer import DISCLAIMER

router = APIRouter()
_TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "web" / "templates")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def chat_page(request: Request) -> HTMLResponse:
    """The patient chat page."""
    settings = request.app.state.settings
    return _TEMPLATES.TemplateResponse(
        request, "chat.html", {"clinic_name": settings.clinic_name, "disclaimer": DISCLAIMER}
    )
