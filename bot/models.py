"""Plain dataclasses shared by every layer. No behaviour beyond small derived values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ReplyKind = Literal["answer", "no_answer", "emergency", "smalltalk"]


@dataclass(frozen=True)
class Source:
    """One curated document: front-matter metadata plus its verbatim body."""

    id: str
    title: str
    body: str
    path: str
    publisher: str | None = None
    url: str | None = None
    published: str | None = None
    reviewed: str | None = None
    cites: str | None = None
    audience: str = "public"

    def citation(self) -> str:
        """A formatted reference: title, publisher, date, link, and what it cites, when known."""
        parts = [_sentence(self.title)]
        if self.publisher:
            parts.append(_sentence(self.publisher))
        if self.published:
            parts.append(f"Published {self.published}.")
        if self.url:
            parts.append(self.url)
        if self.cites:
            parts.append(f"Reports on: {self.cites}")
        return " ".join(parts)


def _sentence(text: str) -> str:
    """Text ending in a full stop, unless it already ends in punctuation ("What’s New?")."""
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


@dataclass(frozen=True)
class Sentence:
    """A sentence (or list item) with character offsets into its source body."""

    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A paragraph, or a list with its lead-in, under its heading path."""

    id: str
    source_id: str
    headings: tuple[str, ...]
    start: int
    end: int
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class FaqEntry:
    """A curated question, its alternate phrasings, and the verbatim quote that answers it."""

    id: str
    question: str
    alternates: tuple[str, ...]
    source_id: str
    start: int
    end: int

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The question and its alternates: what is embedded for the entry."""
        return (self.question, *self.alternates)


@dataclass(frozen=True)
class Span:
    """One to three consecutive sentences of a passage: the unit a quote is cut from."""

    passage_index: int
    first: int
    last: int
    start: int
    end: int


@dataclass(frozen=True)
class QuoteContext:
    """The text around a quote, for "show context": each piece verbatim from the source body.

    ``before[-1]`` and ``after[0]`` are the rest of the quote's own paragraph (possibly empty);
    earlier and later items are whole neighbouring paragraphs under the same headings.
    """

    headings: tuple[str, ...]
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class Quote:
    """A verbatim excerpt of a source body, with the offsets that prove it."""

    text: str
    passage_id: str
    score: float
    source: Source
    start: int
    end: int
    context: QuoteContext | None = None


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation, as the client sent it."""

    role: Literal["user", "bot"]
    text: str


@dataclass(frozen=True)
class Question:
    """What retrieval looks for: the message, plus earlier user turns when it is a follow-up.

    ``context`` is newest first and empty when the message stands on its own.
    """

    text: str
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """What the bot says to one message."""

    kind: ReplyKind
    text: str
    disclaimer: str
    quotes: tuple[Quote, ...] = ()
    suggestions: tuple[str, ...] = field(default_factory=tuple)


def quote_to_dict(quote: Quote) -> dict[str, Any]:
    """A quote as the chat API contract shapes it."""
    out: dict[str, Any] = {
        "text": quote.text,
        "passage_id": quote.passage_id,
        "score": quote.score,
        "source": source_to_dict(quote.source),
    }
    if quote.context is not None:
        out["context"] = {
            "headings": list(quote.context.headings),
            "before": list(quote.context.before),
            "after": list(quote.context.after),
        }
    return out


def source_to_dict(src: Source) -> dict[str, Any]:
    """A source's public metadata with its formatted citation."""
    return {
        "id": src.id,
        "title": src.title,
        "publisher": src.publisher,
        "url": src.url,
        "published": src.published,
        "citation": src.citation(),
    }


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A reply as the chat API contract shapes it (also what ``faqbot ask --json`` prints)."""
    return {
        "kind": reply.kind,
        "text": reply.text,
        "quotes": [quote_to_dict(q) for q in reply.quotes],
        "suggestions": list(reply.suggestions),
        "disclaimer": reply.disclaimer,
    }
