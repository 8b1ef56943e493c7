"""Typo tolerance: correct question words against the knowledge's own vocabulary.

"tranplant side efects" should find what "transplant side effects" finds, and "chemo" what
"chemotherapy" finds. Only words unknown
to the vocabulary, even after stemming ("researchers" is known through "research"), are
touched; only letters-only words of four or more characters (numbers, doses and short words
stay as typed); and only when a known word is clearly close.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

import Stemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.words import FUNCTION_WORDS

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_MIN_LENGTH = 4
_CUTOFF = 0.8
_MEMO_SIZE = 50_000  # words whose correction is remembered
#: A word sharing its first this many letters with a known word of the same family is known:
#: "conclude" is what a "Conclusion" heading is about, though their stems differ.
_FAMILY_PREFIX = 6
#: Question and filler words of at least four letters: a short word that is one of them with a
#: letter dropped ("wat", "wen", "tht") names no topic the sources could be missing.
_LONG_FUNCTION_WORDS = sorted(w for w in FUNCTION_WORDS if len(w) >= 4)
# Short forms patients type, spelled out as the sources write them.
ABBREVIATIONS = {
    "chemo": "chemotherapy",
    "meds": "medication",
    "med": "medication",
    "yrs": "years",
    "yr": "year",
    "mths": "months",
    "mos": "months",
    "wks": "weeks",
    "hsc": "hematopoietic stem cells",
    "hscs": "hematopoietic stem cells",
    "hsct": "hematopoietic stem cell transplantation",
    "sct": "stem cell transplant",
    "tx": "treatment",
    "neuro": "neurologist",
    "docs": "doctors",
}


_PARTS = re.compile(r"[-'’]")


def vocabulary(texts: Iterable[str]) -> list[str]:
    """Every word of ``texts``, lower-cased, and each part of a hyphenated one; sorted, once.

    The build saves it with the index: at 100 000 passages finding it took over a second of
    every start-up.
    """
    words = {w.lower() for text in texts for w in _WORD.findall(text)}
    words |= {part for word in words for part in _PARTS.split(word) if part}
    return sorted(words)


def signature() -> str:
    """A digest of how :func:`vocabulary` finds words: an index whose saved vocabulary came
    from other patterns is rebuilt."""
    return hashlib.sha256(f"{_WORD.pattern}\n{_PARTS.pattern}".encode()).hexdigest()[:16]


class Speller:
    """Corrects words to the closest word of a fixed vocabulary (see :func:`vocabulary`)."""

    def __init__(self, known: Iterable[str]) -> None:
        words = set(known)
        self._stemmer: Any = Stemmer.Stemmer("english")
        self._known = words
        self._stems = set(self._stemmer.stemWords(sorted(words)))
        self._candidates = sorted(w for w in words if len(w) >= _MIN_LENGTH)
        self._family_prefixes = {w[:_FAMILY_PREFIX] for w in words if len(w) > _FAMILY_PREFIX}
        # each word's correction, remembered: the same words recur across questions, and a
        # fuzzy search for a misspelt one costs far more than answering the rest
        self._fixed: dict[str, str] = {}

    def _fix(self, word: str) -> str:
        fixed = self._fixed.get(word)
        if fixed is None:
            if len(self._fixed) >= _MEMO_SIZE:
                self._fixed.clear()  # bounded: patients' words are unbounded
            fixed = self._fixed[word] = self._closest(word)
        return fixed

    def _closest(self, word: str) -> str:
        lower = word.lower()
        if lower in ABBREVIATIONS:
            return ABBREVIATIONS[lower]
        if len(lower) < _MIN_LENGTH or lower in self._known:
            return word
        if self._stemmer.stemWord(lower) in self._stems:
            return word
        close = process.extractOne(
            lower, self._candidates, scorer=fuzz.ratio, score_cutoff=_CUTOFF * 100
        )
        return str(close[0]) if close else word

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
            and not self._same_family(w)
            and not _function_word_typo(w)
        ]

    def _same_family(self, word: str) -> bool:
        """Whether a known word of seven letters or more starts like this one ("conclude",
        "conclusion"): one family of words, which stemming does not always join."""
        return len(word) > _FAMILY_PREFIX and word[:_FAMILY_PREFIX] in self._family_prefixes

    def correct(self, text: str) -> str:
        """The text with unknown words replaced by their closest known word, if any."""
        return _WORD.sub(lambda m: self._fix(m.group(0)), text)


def _function_word_typo(word: str) -> bool:
    """Whether a short word is a question or filler word with one letter dropped ("wat" for
    "what"): it carries no topic. Same-length neighbours stay topics ("home" is not "some")."""
    return len(word) <= 4 and any(
        len(known) == len(word) + 1 and Levenshtein.distance(word, known) == 1
        for known in _LONG_FUNCTION_WORDS
    )
