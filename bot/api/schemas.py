"""Pydantic models at the HTTP edge: the chat API contract of design.md, and nothing else."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictStr, field_validator

MAX_MESSAGE = 1000
MAX_HISTORY = 20
MAX_TURN_TEXT = 4000  # a bot turn echoes quotes back, so it may be longer than a message


class HistoryTurn(BaseModel):
    """One earlier turn, as the client remembers it."""

    role: Literal["user", "bot"]
    text: StrictStr = Field(max_length=MAX_TURN_TEXT)


class ChatRequest(BaseModel):
    """What a client sends: the new message and, optionally, the conversation so far."""

    message: StrictStr = Field(max_length=MAX_MESSAGE, description="1 to 1000 characters")
    history: list[HistoryTurn] = Field(default_factory=list, max_length=MAX_HISTORY)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain some text, not only spaces")
        return value


class SourceOut(BaseModel):
    """A quote's source, with a formatted citation."""

    id: str
    title: str
    publisher: str | None
    url: str | None
    published: str | None
    citation: str


class QuoteOut(BaseModel):
    """A verbatim excerpt of a source."""

    text: str
    passage_id: str
    score: float
    source: SourceOut


class ChatReply(BaseModel):
    """The bot's reply: see design.md for what each kind means."""

    kind: Literal["answer", "no_answer", "emergency", "smalltalk"]
    text: str
    quotes: list[QuoteOut]
    suggestions: list[str]
    disclaimer: str


class ErrorOut(BaseModel):
    """A request the server could not take, explained for a person."""

    error: str
    details: list[str] = Field(default_factory=list)
