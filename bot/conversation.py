"""The conversation around a message: small talk, and follow-ups that lean on earlier turns.

Small talk (greetings, thanks, goodbyes, questions about the bot) must never be answered with a
quote: "thanks!" is not a question about stem cells. The check is deliberately strict: only a
message made *entirely* of small-talk words counts, so "hi, is the treatment safe?" still goes
to retrieval.

Follow-ups ("what are the risks of that?", "and how long is recovery?") are resolved with the
earlier user turns the client sends. Only a message that points back (a pronoun such as "it" or
"that", an opening "and …" / "what about …", or a bare fragment) takes them in, so a message that
starts a new topic is never hijacked by the old one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.models import Question, Turn

_WORD = re.compile(r"[a-z']+")

# Each category: the phrases that make it up ("|" between them), and the reply.
_CATEGORIES: dict[str, tuple[tuple[str, ...], str]] = {
    name: (tuple(phrases.split("|")), reply)
    for name, phrases, reply in (
        (
            "greeting",
            "hi|hello|hey|hiya|good morning|good afternoon|good evening|greetings|howdy"
            "|how are you|how are you doing|hi there|hello there",
            "Hello! I answer questions about MS and stem-cell therapy (AHSCT) with quotes "
            "from the clinic's sources.",
        ),
        (
            "thanks",
            "thanks|thank you|thank u|thx|ty|cheers|much appreciated|that helps"
            "|that was helpful|great|ok thanks|okay thanks|perfect",
            "You're welcome. Is there anything else you would like to know?",
        ),
        (
            "goodbye",
            "bye|goodbye|good bye|see you|see ya|take care|good night",
            "Goodbye, and take care.",
        ),
        (
            "about",
            "who are you|what are you|what can you do|what do you do|help|are you a bot"
            "|are you human|are you a real person|are you real|is this a bot"
            "|am i talking to a person|am i talking to a bot|what can i ask"
            "|what can i ask you|how does this work",
            "I am the clinic's FAQ assistant. I answer questions about multiple sclerosis and "
            "stem-cell therapy only with quotes from sources the clinic has reviewed. I am not "
            "a doctor and cannot give personal medical advice.",
        ),
    )
}
# Words that may pad a small-talk phrase without making it a question.
_FILLER = set(
    "so much very a lot again there bot all you oh ok okay well and for your the info "
    "information now".split()
)


_PRIORITY = ("goodbye", "thanks", "about", "greeting")
_EVERY_PHRASE = [phrase for phrases, _ in _CATEGORIES.values() for phrase in phrases]
_SMALLTALK_WORDS = _FILLER | {word for phrase in _EVERY_PHRASE for word in phrase.split()}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def _strip_phrases(words: list[str], phrases: list[str]) -> list[str]:
    """The words left once every small-talk phrase is removed."""
    remaining = " ".join(words)
    for phrase in sorted(phrases, key=len, reverse=True):
        remaining = re.sub(rf"\b{re.escape(phrase)}\b", " ", remaining)
    return remaining.split()


def _category(words: list[str]) -> str | None:
    """The category of a message made only of small-talk phrases (and filler), else None.

    Mixed messages ("thanks, bye") take the category that ends a conversation soonest.
    """
    leftover = _strip_phrases(words, _EVERY_PHRASE)
    if len(leftover) == len(words) or not all(w in _FILLER for w in leftover):
        return None
    for name in _PRIORITY:
        if len(_strip_phrases(words, list(_CATEGORIES[name][0]))) < len(words):
            return name
    return None


def smalltalk_reply(message: str) -> str | None:
    """The reply when the message is only small talk, else None."""
    words = _words(message)
    # a word outside every phrase and the filler always survives the stripping below (the
    # phrases only remove whole words), so such a message is never small talk: most aren't
    if not words or len(words) > 8 or not _SMALLTALK_WORDS.issuperset(words):
        return None
    name = _category(words)
    return _CATEGORIES[name][1] if name else None


_POINTS_BACK = re.compile(
    r"^(and|also|so|but|then|what about|how about|and what about)\b"
    r"|\b(it|its|it's|that|this|these|those|they|them|their|there|he|she|him|her|one|too)\b"
)
_MAX_CONTEXT = 2
_FRAGMENT_WORDS = 3


def is_follow_up(message: str) -> bool:
    """Whether the message points back to an earlier turn instead of standing alone."""
    text = " ".join(_words(message))
    return bool(_POINTS_BACK.search(text)) or 0 < len(text.split()) <= _FRAGMENT_WORDS


def resolve(message: str, history: Sequence[Turn]) -> Question:
    """The question retrieval should answer: the message, with the latest user turns (newest
    first) as context when the message is a follow-up."""
    earlier = [t.text for t in reversed(history) if t.role == "user" and t.text.strip()]
    if not earlier or not is_follow_up(message):
        return Question(message)
    return Question(message, tuple(earlier[:_MAX_CONTEXT]))
