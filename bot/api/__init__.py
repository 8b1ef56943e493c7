"""The web adapter: FastAPI app factory, routes and pages. Only this package imports fastapi."""

from bot.api.app import create_app

__all__ = ["create_app"]
