"""Load and validate the curated knowledge folder: sources and the curated FAQ.

Every problem is reported with the file it is in, all at once, so an editor can fix a batch of
files in one go. The CLI turns :class:`KnowledgeError` into exit code 2 without a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.faq import FAQ_FILE, load_faq
from bot.models import FaqEntry, Passage, Source
from bot.passages import parse_passages
from bot.progress import bar
from bot.scope import SCOPE_FILE, load_scope

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_REQUIRED = ("id", "title")
_OPTIONAL = ("publisher", "url", "published", "reviewed", "cites", "audience")
_AUDIENCES = ("public", "staff")


class KnowledgeError(Exception):
    """The knowledge folder has problems; ``problems`` lists them, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Knowledge:
    """Everything parsed from the knowledge folder."""

    sources: tuple[Source, ...]
    passages: tuple[Passage, ...]
    faq: tuple[FaqEntry, ...]
    scope: tuple[str, ...]
    file_hashes: dict[str, str]

    def source(self, source_id: str) -> Source:
        """The source with this id (KeyError when unknown)."""
        return {s.id: s for s in self.sources}[source_id]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    # large reads: hashing lets go of the GIL, and a thread hashing beside other Python work
    # (the index's check, see bot.index) waits for it back after every chunk
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            digest.update(chunk)
    return digest.hexdigest()


def knowledge_files(knowledge_dir: Path) -> list[Path]:
    """The files an index is built from, in a stable order."""
    files = sorted((knowledge_dir / "sources").glob("*.md"))
    extra = [knowledge_dir / name for name in (FAQ_FILE, SCOPE_FILE)]
    return files + [path for path in extra if path.exists()]


def hash_knowledge(
    knowledge_dir: Path, sha256: Callable[[str], str] | None = None
) -> dict[str, str]:
    """SHA-256 of every knowledge file, keyed by its path relative to the folder: read from
    each file, or given by ``sha256`` for that relative path (a memo, see bot.service)."""
    names = [path.relative_to(knowledge_dir).as_posix() for path in knowledge_files(knowledge_dir)]
    digest = sha256 or (lambda name: sha256_file(knowledge_dir / name))
    return {name: digest(name) for name in names}


def _split_front_matter(text: str) -> tuple[str, str]:
    """(front matter, body); raises ValueError when the file has no front matter block."""
    if not text.startswith("---\n"):
        raise ValueError("must start with a '---' front matter line")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise ValueError("front matter is not closed by a '---' line")
    return text[4:end], text[end + 5 :]


def _as_text(value: Any) -> str | None:
    """Front matter values as strings; YAML turns ISO dates into date objects."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _check_meta(meta: dict[str, Any]) -> list[str]:
    problems = [f"missing '{key}' in front matter" for key in _REQUIRED if not meta.get(key)]
    unknown = sorted(set(meta) - set(_REQUIRED) - set(_OPTIONAL))
    problems += [f"unknown front matter key '{key}'" for key in unknown]
    if meta.get("id") and not _ID.match(str(meta["id"])):
        problems.append(f"id '{meta['id']}' must be lowercase letters, digits and '-'")
    if meta.get("audience", "public") not in _AUDIENCES:
        problems.append(f"audience must be one of {', '.join(_AUDIENCES)}")
    return problems


def parse_source(path: Path, text: str) -> Source:
    """One source file; raises ValueError with a readable reason when it is not valid."""
    try:
        raw_meta, body = _split_front_matter(text)
        meta = yaml.safe_load(raw_meta)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"unparsable front matter: {str(exc).splitlines()[0]}") from None
    if not isinstance(meta, dict):
        raise ValueError("unparsable front matter: expected 'key: value' lines")
    problems = _check_meta(meta)
    if not body.strip():
        problems.append("empty body")
    if problems:
        raise ValueError("; ".join(problems))
    return Source(
        id=str(meta["id"]),
        title=str(meta["title"]),
        body=body,
        path=path.name,
        publisher=_as_text(meta.get("publisher")),
        url=_as_text(meta.get("url")),
        published=_as_text(meta.get("published")),
        reviewed=_as_text(meta.get("reviewed")),
        cites=_as_text(meta.get("cites")),
        audience=_as_text(meta.get("audience")) or "public",
    )


def _load_sources(sources_dir: Path) -> tuple[list[Source], list[str]]:
    sources: list[Source] = []
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for path in sorted(sources_dir.glob("*.md")):
        try:
            source = parse_source(path, path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        if source.id in seen:
            problems.append(f"{path}: duplicate id '{source.id}' (also in {seen[source.id]})")
            continue
        seen[source.id] = path
        sources.append(source)
    return sources, problems


def _split(sources: list[Source], progress: bool) -> dict[str, list[Passage]]:
    """Each source's passages, by source id (about 0.7 ms a paragraph: 12 minutes at a
    million passages, the longest step of a build before its vectors)."""
    passages: dict[str, list[Passage]] = {}
    with bar(len(sources), progress, "Splitting sources into passages", "source") as shown:
        for source in sources:
            passages[source.id] = parse_passages(source.id, source.body)
            shown.update(1)
    return passages


def load_knowledge(knowledge_dir: Path, progress: bool = False) -> Knowledge:
    """Parse and validate the whole knowledge folder, or raise :class:`KnowledgeError`;
    with ``progress``, a bar over the sources as they are split into passages."""
    sources_dir = knowledge_dir / "sources"
    if not sources_dir.is_dir():
        raise KnowledgeError([f"{sources_dir}: folder not found"])
    sources, problems = _load_sources(sources_dir)
    if not sources and not problems:
        problems.append(f"{sources_dir}: no source files (*.md)")
    passages = _split(sources, progress)
    problems += [f"{sources_dir / s.path}: no text to quote" for s in sources if not passages[s.id]]
    faq, more = load_faq(knowledge_dir, sources)
    scope, even_more = load_scope(knowledge_dir)
    problems += more + even_more
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(
        sources=tuple(sources),
        passages=tuple(p for s in sources for p in passages[s.id]),
        faq=tuple(faq),
        scope=tuple(scope),
        file_hashes=hash_knowledge(knowledge_dir),
    )
