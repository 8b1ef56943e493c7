"""Security headers: every page loads only its own files and may not be framed, except /embed,
which the clinic sites named in ``FAQBOT_EMBED_ORIGINS`` may frame."""

from __future__ import annotations

from collections.abc import Sequence

from bot.settings import Settings


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """The policy for a page that may be framed by ``frame_ancestors`` (a CSP source list)."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {frame_ancestors}"
    )


def embed_ancestors(origins: Sequence[str]) -> str:
    """Who may frame /embed: this server itself (the demo page) and the configured origins.

    Settings has checked each origin is bare scheme://host[:port], so none can add directives.
    """
    return " ".join(["'self'", *origins])


def embed_policy(settings: Settings) -> str:
    """The Content-Security-Policy of /embed."""
    return content_security_policy(embed_ancestors(settings.embed_origins))


SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
