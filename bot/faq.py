"""Parse and validate ``knowledge/faq.yaml``: curated questions answered by verbatim quotes.

An entry whose quote is not found word for word in its source fails the build, naming the
entry: the FAQ may choose which words to show, never change them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.models import FaqEntry, Source
from bot.passages import MAX_SPAN_CHARS

FAQ_FILE = "faq.yaml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_KEYS = {"id", "question", "alternates", "source", "quote"}


def _entry_problems(raw: Any, sources: dict[str, Source]) -> list[str]:
    if not isinstance(raw, dict):
        return ["must be a mapping with id, question, source and quote"]
    problems = [f"missing '{k}'" for k in ("id", "question", "source", "quote") if not raw.get(k)]
    problems += [f"unknown key '{k}'" for k in sorted(set(raw) - _KEYS)]
    if raw.get("id") and not _ID.match(str(raw["id"])):
        problems.append("id must be lowercase letters, digits and '-'")
    alternates = raw.get("alternates", [])
    if not isinstance(alternates, list) or not all(isinstance(a, str) for a in alternates):
        problems.append("alternates must be a list of questions")
    source = sources.get(str(raw.get("source")))
    quote = str(raw.get("quote") or "")
    if raw.get("source") and source is None:
        problems.append(f"unknown source '{raw['source']}'")
    elif source is not None and quote and quote not in source.body:
        problems.append(f"quote is not found verbatim in source '{source.id}'")
    if len(quote) > MAX_SPAN_CHARS:
        problems.append(f"quote is {len(quote)} characters; keep it to {MAX_SPAN_CHARS}")
    return problems


def _entry(raw: dict[str, Any], sources: dict[str, Source]) -> FaqEntry:
    source = sources[str(raw["source"])]
    quote = str(raw["quote"])
    start = source.body.index(quote)
    return FaqEntry(
        id=str(raw["id"]),
        question=str(raw["question"]).strip(),
        alternates=tuple(a.strip() for a in raw.get("alternates", []) if a.strip()),
        source_id=source.id,
        start=start,
        end=start + len(quote),
    )


def load_faq(knowledge_dir: Path, sources: list[Source]) -> tuple[list[FaqEntry], list[str]]:
    """(entries, problems) from the FAQ file; no file means no entries."""
    path = knowledge_dir / FAQ_FILE
    if not path.exists():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        return [], [f"{path}: not valid YAML: {str(exc).splitlines()[0]}"]
    if not isinstance(data, list):
        return [], [f"{path}: must be a list of entries"]
    by_id = {s.id: s for s in sources}
    entries: list[FaqEntry] = []
    problems: list[str] = []
    for number, raw in enumerate(data, start=1):
        name = raw.get("id") if isinstance(raw, dict) else None
        label = f"{path}: entry '{name}'" if name else f"{path}: entry #{number}"
        found = _entry_problems(raw, by_id)
        if not found and any(e.id == raw["id"] for e in entries):
            found = [f"duplicate id '{raw['id']}'"]
        problems += [f"{label}: {p}" for p in found]
        if not found:
            entries.append(_entry(raw, by_id))
    return entries, problems
