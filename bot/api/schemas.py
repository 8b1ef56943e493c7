"""Pydantic models at the HTTP edge: the chat API contract of design.md, and nothing else."""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, Field, StrictStr, field_validator

#: Where the chat API is served.
CHAT_PATH = "/api/chat"
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
        if not _visible(value):
            raise ValueError("must contain some text, not only spaces")
        return value


def _visible(text: str) -> bool:
    """Whether ``text`` has a character that shows: not only spaces, control characters and
    invisible formatting such as zero-width spaces (``str.strip`` keeps those). Characters
    newer than this Python's Unicode tables (a new emoji) count as shown."""
    return any(not char.isspace() and unicodedata.category(char) not in _INVISIBLE for char in text)


_INVISIBLE = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}


class SourceOut(BaseModel):
    """A quote's source, with a formatted citation."""

    id: str
    title: str
    publisher: str | None
    url: str | None
    published: str | None
    citation: str


class ContextOut(BaseModel):
    """The verbatim text around a quote: see :class:`bot.models.QuoteContext`."""

    headings: list[str]
    before: list[str]
    after: list[str]


class QuoteOut(BaseModel):
    """A verbatim excerpt of a source."""

    text: str
    passage_id: str
    score: float
    source: SourceOut
    context: ContextOut | None = None


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
    request_id: str | None = Field(None, description="Also in the server's log line.")


class FeedbackIn(BaseModel):
    """A thumbs up or down on one reply."""

    vote: Literal["up", "down"]
    kind: Literal["answer", "no_answer", "emergency", "smalltalk"]
    passage_ids: list[StrictStr] = Field(default_factory=list, max_length=3)
    question: StrictStr | None = Field(None, max_length=MAX_MESSAGE)

    @field_validator("passage_ids")
    @classmethod
    def _short_ids(cls, value: list[str]) -> list[str]:
        if any(not 0 < len(item) <= 200 for item in value):
            raise ValueError("must hold passage ids of 1 to 200 characters")
        # two quotes of one reply may come from one passage: it is voted on once
        return list(dict.fromkeys(value))


class FeedbackOut(BaseModel):
    """The vote was stored."""

    stored: bool


class SegmentOut(BaseModel):
    """A piece of a passage; ``match`` marks the words that matched the search."""

    text: str
    match: bool


class SearchHitOut(BaseModel):
    """One passage found by the staff search."""

    passage_id: str
    score: float
    audience: str
    headings: list[str]
    segments: list[SegmentOut]
    answer: str
    source: SourceOut


class SearchOut(BaseModel):
    """Staff search results, and what the patient bot would reply to the same text."""

    query: str
    results: list[SearchHitOut]
    patient_reply: ChatReply
