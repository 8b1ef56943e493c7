"""Topics the sources do not cover, from ``knowledge/scope.yaml``.

Embeddings place "stem cells for autism" close to "stem cells for MS": the words that differ are
the ones that matter. A short, reviewable list of such topics lets the bot say plainly that its
sources do not cover them, rather than quote something about MS that sounds near.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

SCOPE_FILE = "scope.yaml"


def load_scope(knowledge_dir: Path) -> tuple[list[str], list[str]]:
    """(terms, problems) from the scope file; no file means no terms."""
    path = knowledge_dir / SCOPE_FILE
    if not path.exists():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return [], [f"{path}: not valid YAML: {str(exc).splitlines()[0]}"]
    ok = isinstance(data, dict) and all(
        isinstance(terms, list) and all(isinstance(t, str) and t.strip() for t in terms)
        for terms in data.values()
    )
    if not ok:
        return [], [f"{path}: must map each category to a list of terms"]
    return sorted({t.strip().lower() for terms in data.values() for t in terms}), []


def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    words = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(terms, key=len)[::-1])
    return re.compile(rf"\b(?:{words})(?:s|es|'s|’s)?\b", re.IGNORECASE)


class Scope:
    """Recognises questions about topics the sources do not cover."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        self._pattern = _pattern(terms)

    def outside(self, question: str) -> str | None:
        """The first not-covered topic the question names, or None."""
        found = self._pattern.search(question) if self._pattern else None
        return found.group(0) if found else None
