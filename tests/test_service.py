from pathlib import Path

import pytest

from bot import service
from bot.hashmemo import MEMO
from bot.index import current_path
from bot.knowledge import hash_knowledge
from bot.safety_rules import SafetyRulesError
from bot.settings import Settings
from tests.conftest import FakeEmbedder


def test_knowledge_hashes_are_read_once_then_remembered_beside_the_index(
    built: Settings, hash_reads: list[str], not_racy: None
) -> None:
    assert service.index_staleness(built) is None
    files = len(hash_knowledge(built.knowledge_dir))
    assert len(hash_reads) == files  # the first check read each knowledge file
    assert service.index_staleness(built) is None
    assert len(hash_reads) == files  # the second read none of them
    # the memo lives with the index: the knowledge folder is the curators', left untouched
    assert (built.index_dir / service.KNOWLEDGE_MEMO).is_file()
    assert not (built.knowledge_dir / MEMO).exists()
    assert not (built.knowledge_dir / service.KNOWLEDGE_MEMO).exists()


def test_a_knowledge_file_edited_makes_the_index_stale_despite_the_memo(
    built: Settings, not_racy: None
) -> None:
    assert service.index_staleness(built) is None  # remembered
    sources = (built.knowledge_dir / "sources").glob("*.md")
    source = next(path for path in sources if "ten years" in path.read_text())
    source.write_text(source.read_text().replace("ten years", "nine years"))
    assert service.index_staleness(built) == "the knowledge files changed"
    source.unlink()  # gone, or added: the list of files is read every time
    assert service.index_staleness(built) == "the knowledge files changed"


def test_before_any_build_nothing_is_remembered_and_nothing_fails(
    settings: Settings, not_racy: None
) -> None:
    assert service.index_staleness(settings) == "no index has been built yet"
    assert not Path(settings.index_dir).exists()


def test_a_build_of_an_unchanged_folder_reads_no_source_again(
    built: Settings, monkeypatch: pytest.MonkeyPatch, not_racy: None
) -> None:
    # at a million passages reading and splitting every source took minutes only to find
    # the index current (`make run` builds before it serves)
    service.index_staleness(built)  # the hashes remembered, as after a check at start
    splits: list[int] = []
    knowledge = service.load_knowledge

    def counted(folder: Path, progress: bool = False) -> object:
        splits.append(1)
        return knowledge(folder, progress)

    monkeypatch.setattr(service, "load_knowledge", counted)
    result = service.build(built)  # no embedder: one would only be made to build
    assert (result.built, result.reason, splits) == (False, "up to date", [])
    fake = FakeEmbedder()
    assert service.build(built, embedder=fake, force=True).reason == "--force"
    assert len(splits) == 1
    source = next((built.knowledge_dir / "sources").glob("*.md"))
    source.write_text(source.read_text() + "\nOne more paragraph to quote.\n")
    edited = service.build(built, embedder=fake)
    assert (edited.built, edited.reason, len(splits)) == (True, "the knowledge files changed", 2)


def test_a_build_of_an_unchanged_folder_still_checks_the_triage_rules(built: Settings) -> None:
    (built.knowledge_dir / "safety.yaml").write_text("categories: []\n", encoding="utf-8")
    with pytest.raises(SafetyRulesError):
        service.build(built)


def test_a_damaged_index_is_built_again_though_its_knowledge_is_unchanged(
    built: Settings,
) -> None:
    (current_path(built.index_dir) / "store.json").write_text("{}", encoding="utf-8")
    result = service.build(built, embedder=FakeEmbedder())
    assert result.built and result.reason.startswith("the current index is damaged")
