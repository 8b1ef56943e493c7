"""References to sections of docs/performance.md, from README, the CHANGELOG and the code,
name sections that exist: the record moved there from README, and a renamed heading would
otherwise leave readers looking for a paragraph that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
#: "docs/performance.md, *Section*", also as a Markdown link or in code, wrapped over lines
REFERENCE = re.compile(r"docs/performance\.md`?(?:\]\([^)]*\))?,\s*\*([^*]+)\*")


def _flat(text: str) -> str:
    """Text with line breaks, and the comment marks that begin code lines, made single spaces."""
    return re.sub(r"\s*\n\s*(?:#:?\s*)?", " ", text)


def references(text: str) -> list[str]:
    """The section names ``text`` cites in docs/performance.md."""
    return REFERENCE.findall(_flat(text))


def headings() -> list[str]:
    """docs/performance.md's section headings, without their marks."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    return [line.lstrip("#").strip() for line in lines if line.startswith("#")]


def test_references_are_found_wrapped_and_linked() -> None:
    text = (
        "see [`docs/performance.md`](docs/performance.md), *How search\nscales*; and\n"
        "#: (docs/performance.md,\n#: *The passage search beside BM25*)"
    )
    assert references(text) == ["How search scales", "The passage search beside BM25"]


def test_every_reference_names_a_section() -> None:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "bot").rglob("*.py"))]
    cited = {
        (path.name, name) for path in files for name in references(path.read_text(encoding="utf-8"))
    }
    assert len(cited) >= 5  # README and the code cite several
    known = headings()
    missing = [
        (file, name) for file, name in sorted(cited) if not any(h.startswith(name) for h in known)
    ]
    assert not missing, f"no such section in docs/performance.md: {missing}"
