"""Many Python regular expressions searched at once, for triage's ~200 patterns a clause.

Python's ``re`` backtracks: each pattern is one more pass over the text, and the safety rules'
patterns cost ~100 µs a clause together. RE2 runs a set of patterns as one automaton in a single
pass (~1 µs) and says which of them match; only those are then searched with ``re``, whose match
objects the caller needs. The screen must never miss a pattern that ``re`` would match, so:

- each pattern is rewritten for RE2 from ``re``'s own parse of it, in syntax both engines read
  the same way; a pattern with anything else (look-arounds, back-references, flags) is not
  screened but always searched;
- the screen is used only on printable ASCII text, where the engines agree on ``\\b``, ``\\w``,
  ``\\d``, ``\\s``, ``.`` and ``$``; other text gets every pattern searched;
- an always-matching sentinel rides in the set: if RE2 ever fails (it reports running out of
  memory as "no match"), the sentinel is missing and every pattern is searched.

Without the ``google-re2`` package every pattern is searched, as ``re`` alone would.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


re2 = _optional("re2")  # without it triage searches every pattern, as before
# re's own parser: the only exact reading of a pattern (private modules, without stubs)
sre: Any = importlib.import_module("re._constants")
sre_parse: Any = importlib.import_module("re._parser")

_ANCHORS = {
    sre.AT_BEGINNING: "^",
    sre.AT_BEGINNING_STRING: r"\A",
    sre.AT_END: "$",  # same as re's on text without a newline (the screen needs printable text)
    sre.AT_END_STRING: r"\z",
    sre.AT_BOUNDARY: r"\b",
    sre.AT_NON_BOUNDARY: r"\B",
}
_CLASSES = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
}
_RE2_MAX_REPEAT = 1000  # RE2 refuses larger counts
_RE2_MAX_MEM = 64 << 20  # bytes for the automaton: far above what the rules need


class Untranslatable(ValueError):
    """A pattern uses something RE2 lacks or reads differently: it is searched, not screened."""


def _char(code: int) -> str:
    return chr(code) if chr(code).isascii() and chr(code).isalnum() else f"\\x{{{code:x}}}"


def _item(op: Any, av: Any) -> str:
    """One member of a character class."""
    if op is sre.LITERAL:
        return _char(av)
    if op is sre.RANGE:
        return f"{_char(av[0])}-{_char(av[1])}"
    if op is sre.CATEGORY and av in _CLASSES:
        return _CLASSES[av]
    raise Untranslatable(f"class member {op} {av}")


def _charset(items: list[tuple[Any, Any]]) -> str:
    negate = bool(items) and items[0][0] is sre.NEGATE
    members = "".join(_item(op, av) for op, av in items[negate:])
    return f"[{'^' if negate else ''}{members}]"


def _repeat(av: Any) -> str:
    low, high, body = av
    if low > _RE2_MAX_REPEAT or (high is not sre.MAXREPEAT and high > _RE2_MAX_REPEAT):
        raise Untranslatable(f"repeat count {low},{high}")
    bound = "" if high is sre.MAXREPEAT else str(high)
    # greedy or lazy does not change whether a text matches, only where
    return f"(?:{_sequence(body)}){{{low},{bound}}}"


def _node(op: Any, av: Any) -> str:
    if op is sre.LITERAL:
        return _char(av)
    if op is sre.NOT_LITERAL:
        return f"[^{_char(av)}]"
    if op is sre.ANY:
        return "."
    if op is sre.IN:
        return _charset(av)
    if op is sre.AT and av in _ANCHORS:
        return _ANCHORS[av]
    if op is sre.CATEGORY and av in _CLASSES:
        return _CLASSES[av]
    if op is sre.BRANCH:
        return "(?:" + "|".join(_sequence(branch) for branch in av[1]) + ")"
    if op is sre.SUBPATTERN and not av[1] and not av[2]:  # a group without flags of its own
        return f"(?:{_sequence(av[3])})"
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        return _repeat(av)
    raise Untranslatable(f"{op}")


def _sequence(parsed: Any) -> str:
    return "".join(_node(op, av) for op, av in parsed)


def to_re2(pattern: re.Pattern[str]) -> str:
    """The pattern in RE2 syntax, matching the same printable ASCII texts; raises
    :class:`Untranslatable`."""
    if pattern.flags & ~re.UNICODE:
        raise Untranslatable("flags")
    return _sequence(sre_parse.parse(pattern.pattern, pattern.flags))


class PatternSet:
    """Patterns searched together: :meth:`matches` gives what searching each would."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        self.always: tuple[int, ...] = tuple(range(len(self.patterns)))
        self._set: Any = None
        self._sentinel = -1
        if re2 is not None and self.patterns:
            self._compile_set()

    @property
    def screened(self) -> int:
        """How many patterns the RE2 screen covers (the others are always searched)."""
        return len(self.patterns) - len(self.always) if self._set is not None else 0

    def _compile_set(self) -> None:
        options = re2.Options()
        options.max_mem = _RE2_MAX_MEM
        options.log_errors = False
        screen = re2.Set.SearchSet(options)
        always, index = [], {}
        for number, pattern in enumerate(self.patterns):
            try:
                index[screen.Add(to_re2(pattern))] = number
            except (Untranslatable, re2.error):
                always.append(number)
        self._sentinel = screen.Add("")  # matches every text: its absence means RE2 failed
        try:
            screen.Compile()
        except re2.error:  # e.g. the set outgrows max_mem: every pattern is searched
            return
        self._set, self._index, self.always = screen, index, tuple(always)

    def candidates(self, text: str) -> list[int]:
        """Indices, in order, of the patterns that may match ``text``: a superset of those that
        do."""
        screened = self._screened(text)
        if screened is not None:
            return screened
        return [i for i, pattern in enumerate(self.patterns) if pattern.search(text)]

    def matches(self, text: str) -> list[tuple[int, re.Match[str]]]:
        """(index, match) for every pattern whose ``search`` finds a match in ``text``."""
        screened = self._screened(text)
        numbers = range(len(self.patterns)) if screened is None else screened
        return [(i, m) for i in numbers if (m := self.patterns[i].search(text))]

    def _screened(self, text: str) -> list[int] | None:
        """The RE2 screen's candidates, or None for text it cannot judge: then every pattern
        is searched, one by one (all of them joined into one pattern first was 4x slower: re
        tries each branch at every position)."""
        if self._set is not None and text.isascii() and text.isprintable():
            found = self._set.Match(text) or ()
            if self._sentinel in found:
                return sorted([*self.always, *(self._index[i] for i in found if i in self._index)])
        return None
