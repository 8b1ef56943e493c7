import re
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from tests.conftest import ROOT

SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


def _write(folder: Path, name: str, text: str) -> None:
    (folder / "sources" / name).write_text(text, encoding="utf-8")


def test_tiny_knowledge_loads_with_nulls_kept(knowledge_dir: Path) -> None:
    knowledge = load_knowledge(knowledge_dir)
    news = knowledge.source("tiny-news")
    assert news.publisher is None and news.url is None and news.published is None
    assert knowledge.source("tiny-blog").published == "2024-05-01"
    assert {"sources/tiny-news.md", "faq.yaml", "scope.yaml"} <= set(knowledge.file_hashes)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ntitle: T\n---\nBody.\n", "missing 'id'"),
        ("---\nid: x\n---\nBody.\n", "missing 'title'"),
        ("no front matter\n", "unparsable front matter"),
        ("---\nid: x\ntitle: [unclosed\n---\nBody.\n", "unparsable front matter"),
        ("---\nid: x\ntitle: T\n---\n   \n", "empty body"),
        ("---\nid: x\ntitle: T\nauthor: me\n---\nBody.\n", "unknown front matter key 'author'"),
        ("---\nid: Bad Id\ntitle: T\n---\nBody.\n", "must be lowercase"),
        ("---\nid: x\ntitle: T\naudience: everyone\n---\nBody.\n", "audience must be"),
        ("---\nid: x\ntitle: T\n---\n## Only a heading\n", "no text to quote"),
    ],
)
def test_bad_source_names_file_and_problem(knowledge_dir: Path, text: str, problem: str) -> None:
    _write(knowledge_dir, "bad.md", text)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_dir)
    message = str(caught.value)
    assert "bad.md" in message and problem in message


def test_duplicate_id_names_both_files(knowledge_dir: Path) -> None:
    original = (knowledge_dir / "sources" / "tiny-news.md").read_text(encoding="utf-8")
    _write(knowledge_dir, "copy.md", original)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_dir)
    message = str(caught.value)
    assert "duplicate id 'tiny-news'" in message
    assert "copy.md" in message and "tiny-news.md" in message


def test_all_problems_are_reported_at_once(knowledge_dir: Path) -> None:
    _write(knowledge_dir, "one.md", "---\ntitle: T\n---\nBody.\n")
    _write(knowledge_dir, "two.md", "---\nid: y\ntitle: T\n---\n\n")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_dir)
    assert len(caught.value.problems) == 2


def test_missing_folder_is_a_knowledge_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="folder not found"):
        load_knowledge(tmp_path / "nowhere")


def test_real_knowledge_loads() -> None:
    knowledge = load_knowledge(ROOT / "knowledge")
    assert {s.id for s in knowledge.sources} == {
        "swedish-ahsct-cohort-news",
        "ms-stem-cell-therapy-whats-new",
    }
    news = knowledge.source("swedish-ahsct-cohort-news")
    assert news.publisher is None and news.url is None and news.published is None
    assert news.cites is not None and "10.1136/jnnp-2023-331864" in news.cites
    assert len(knowledge.faq) >= 15


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="../shared/seeds is not beside the repo")
def test_real_sources_are_verbatim_from_the_seeds() -> None:
    """Curation may drop navigation and add Markdown markers, never change a word."""
    seeds = " ".join(p.read_text(encoding="utf-8") for p in SHARED_SEEDS.glob("*.txt"))
    seeds = " ".join(seeds.split())
    for source in load_knowledge(ROOT / "knowledge").sources:
        for line in source.body.splitlines():
            text = re.sub(r"^(#+\s+|-\s+|\d+\.\s+)", "", line.strip())
            if text:
                assert text in seeds, f"{source.path}: not in the seed text: {text!r}"


def test_splitting_the_sources_shows_a_bar_only_when_asked(
    knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a million passages took 12 minutes to split: a build must not sit silent
    quiet = load_knowledge(knowledge_dir)
    assert capsys.readouterr().err == ""
    shown = load_knowledge(knowledge_dir, progress=True)
    said = capsys.readouterr().err
    count = len(quiet.sources)
    assert re.search(rf"Splitting sources into passages: 100%.*{count}/{count} \[", said)
    assert "source/s" in said or "s/source" in said  # counted in sources, not texts
    assert shown.passages == quiet.passages
