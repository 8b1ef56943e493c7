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


class Speller:
    """Corrects words to the closest word of a fixed vocabulary."""

    def __init__(self, texts: list[str]) -> None:
        words = {w.lower() for text in texts for w in _WORD.findall(text)}
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

    def correct(self, text: str) -> str:
        """The text with unknown words replaced by their closest known word, if any."""
        return _WORD.sub(lambda m: self._fix(m.group(0)), text)
