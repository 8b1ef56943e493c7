"""References to sections of docs/performance.md (from README, the CHANGELOG and the code) and
to sections of README (from docs/performance.md, the CHANGELOG and the code) name sections that
exist: the record moved from README to docs/performance.md, and a renamed heading would
otherwise leave readers looking for a paragraph that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
#: "docs/performance.md, *Section*" (or "*Section* and *Other*"), also as a Markdown link or in
#: code, wrapped over lines
REFERENCE = re.compile(
    r"docs/performance\.md`?(?:\]\([^)]*\))?,\s*\*([^*]+)\*(?:\s+and\s+\*([^*]+)\*)?"
)
#: "README's *Section*" or "README, *Section*"
README_REFERENCE = re.compile(r"README(?:'s|,)\s*\*([^*]+)\*(?:\s+and\s+\*([^*]+)\*)?")


def _flat(text: str) -> str:
    """Text with line breaks, and the comment marks that begin code lines, made single spaces."""
    return re.sub(r"\s*\n\s*(?:#:?\s*)?", " ", text)


def references(text: str, pattern: re.Pattern[str] = REFERENCE) -> list[str]:
    """The section names ``text`` cites (by default in docs/performance.md)."""
    return [name for found in pattern.findall(_flat(text)) for name in found if name]


def names(name: str, heading: str) -> bool:
    """Whether a reference's ``name`` names ``heading``: the whole of it, or its first words (a
    reference may leave off a heading's end, as "*BM25 at a million passages*" does)."""
    rest = heading[len(name) :]
    return heading.startswith(name) and not (rest and rest[0].isalnum())


def headings(path: Path = DOC) -> list[str]:
    """A Markdown file's section headings, without their marks, and its paragraphs' and list
    items' bold titles ("**Several workers or replicas.** …"), without the full stop."""
    lines = path.read_text(encoding="utf-8").splitlines()
    titles = re.findall(r"^(?:- )?\*\*([^*]+?)\.?\*\*", "\n".join(lines), re.MULTILINE)
    return [line.lstrip("#").strip() for line in lines if line.startswith("#")] + titles


def _missing(
    files: list[Path], pattern: re.Pattern[str], target: Path, least: int
) -> list[tuple[str, str]]:
    """Each (file, name) of ``files`` citing a section that ``target`` does not have (at
    least ``least`` references must be found, or the pattern has stopped matching them)."""
    cited = {
        (path.name, name)
        for path in files
        for name in references(path.read_text(encoding="utf-8"), pattern)
    }
    assert len(cited) >= least, f"too few references to {target.name} found: {sorted(cited)}"
    known = headings(target)
    return [(file, name) for file, name in sorted(cited) if not any(names(name, h) for h in known)]


def test_references_are_found_wrapped_and_linked() -> None:
    text = (
        "see [`docs/performance.md`](docs/performance.md), *How search\nscales*; and\n"
        "#: (docs/performance.md,\n#: *The passage search beside BM25*)"
    )
    assert references(text) == ["How search scales", "The passage search beside BM25"]
    both = "(`docs/performance.md`, *How search scales* and *Scale*, says how)"
    assert references(both) == ["How search scales", "Scale"]
    assert references("README's *Several workers*; README, *Safety*", README_REFERENCE) == [
        "Several workers",
        "Safety",
    ]


def test_a_reference_names_a_heading_or_its_first_words() -> None:
    assert names("Scale", "Scale") and names("BM25 at a million", "BM25 at a million: more")
    assert names("Start-up", "Start-up at scale")
    assert not names("Scal", "Scale") and not names("Spans", "Spansion")


def test_headings_include_bold_titles(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n## Part two\n\n- **Several workers.** Each …\n**Limits** apply\n")
    assert headings(page) == ["Top", "Part two", "Several workers", "Limits"]


def test_every_reference_names_a_section() -> None:
    code = sorted((ROOT / "bot").rglob("*.py"))
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", *code]
    missing = _missing(files, REFERENCE, DOC, least=10)
    assert not missing, f"no such section in docs/performance.md: {missing}"


def test_every_reference_to_readme_names_a_section() -> None:
    code = sorted((ROOT / "bot").rglob("*.py"))
    files = [DOC, ROOT / "CHANGELOG.md", *code]
    missing = _missing(files, README_REFERENCE, ROOT / "README.md", least=3)
    assert not missing, f"no such section in README.md: {missing}"
