"""Typo tolerance: correct question words against the knowledge's own vocabulary.

"tranplant side efects" should find what "transplant side effects" finds. Only words unknown
to the vocabulary, even after stemming ("researchers" is known through "research"), are
touched; only letters-only words of four or more characters (numbers, doses and short words
stay as typed); and only when a known word is clearly close.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import Stemmer

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_MIN_LENGTH = 4
_CUTOFF = 0.8
# Words that carry no topic: question words, pronouns, auxiliaries, fillers.
FUNCTION_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each
    few for from further get gets getting give go going got had has have having he her here
    hers him his how i if in into is it its itself just know let like lot lots make makes may
    me might more most much must my no nor not now of off on once one only or other our out
    over own please really same say she should so some still such take tell than thank thanks
    that the their them then there these they thing things this those through to too under
    until up us very want was way we well were what whats when where which while who whom why
    will with would yes you your""".split()  # noqa: SIM905 - a word list reads better so
)


class Speller:
    """Corrects words to the closest word of a fixed vocabulary."""

    def __init__(self, texts: list[str]) -> None:
        words = {w.lower() for text in texts for w in _WORD.findall(text)}
        words |= {part for word in words for part in re.split(r"[-'’]", word) if part}
        self._stemmer: Any = Stemmer.Stemmer("english")
        self._known = words
        self._stems = set(self._stemmer.stemWords(sorted(words)))
        self._candidates = sorted(w for w in words if len(w) >= _MIN_LENGTH)

    def _fix(self, word: str) -> str:
        lower = word.lower()
        if len(lower) < _MIN_LENGTH or lower in self._known:
            return word
        if self._stemmer.stemWord(lower) in self._stems:
            return word
        close = difflib.get_close_matches(lower, self._candidates, n=1, cutoff=_CUTOFF)
        return close[0] if close else word

    def unknown_words(self, text: str) -> list[str]:
        """Topic words of ``text`` (after correction) that the knowledge never uses.

        "does coffee make MS worse?" names *coffee*, which no source mentions: a sign the
        sources do not cover the question however close its other words sound.
        """
        words = [w.lower() for w in _WORD.findall(self.correct(text))]
        return [
            w
            for w in words
            if len(w) > 2
            and w not in FUNCTION_WORDS
            and w not in self._known
            and self._stemmer.stemWord(w) not in self._stems
        ]

    def correct(self, text: str) -> str:
        """The text with unknown words replaced by their closest known word, if any."""
        return _WORD.sub(lambda m: self._fix(m.group(0)), text)
