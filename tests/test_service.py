from pathlib import Path

import pytest

from bot import builder, service
from bot import knowledge as knowledge_module
from bot.hashmemo import MEMO
from bot.index import current_path
from bot.knowledge import KnowledgeError, hash_knowledge
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
    built: Settings, monkeypatch: pytest.MonkeyPatch, hash_reads: list[str], not_racy: None
) -> None:
    # at a million passages reading and splitting every source took 12 minutes only to find
    # the index current (`make run` builds before it serves)
    service.index_staleness(built)  # the hashes remembered, as after a check at start
    hash_reads.clear()
    read_whole = knowledge_module.sha256_file

    def counted_whole(path: Path) -> str:  # a file hashed without the memo counts too
        hash_reads.append(path.name)
        return read_whole(path)

    monkeypatch.setattr(knowledge_module, "sha256_file", counted_whole)
    splits: list[int] = []
    knowledge = service.load_knowledge

    def counted(folder: Path, progress: bool = False) -> object:
        splits.append(1)
        return knowledge(folder, progress)

    monkeypatch.setattr(service, "load_knowledge", counted)
    result = service.build(built)  # no embedder: one would only be made to build
    assert (result.built, result.reason, splits) == (False, "up to date", [])
    assert not [name for name in hash_reads if name.endswith(".md")]  # none hashed again
    fake = FakeEmbedder()
    assert service.build(built, embedder=fake, force=True).reason == "--force"
    assert len(splits) == 1
    source = next((built.knowledge_dir / "sources").glob("*.md"))
    source.write_text(source.read_text() + "\nOne more paragraph to quote.\n")
    edited = service.build(built, embedder=fake)
    assert (edited.built, edited.reason, len(splits)) == (True, "the knowledge files changed", 2)
    source.write_text(source.read_text() + "\nAnd another one to quote.\n")
    forced = service.build(built, embedder=fake, force=True)  # says why it was stale anyway
    assert (forced.built, forced.reason, len(splits)) == (True, "the knowledge files changed", 3)


def test_a_build_of_an_unchanged_folder_still_checks_the_triage_rules(built: Settings) -> None:
    assert service.build(built).reason == "up to date"
    (built.knowledge_dir / "safety.yaml").write_text("categories: []\n", encoding="utf-8")
    with pytest.raises(SafetyRulesError):
        service.build(built)


def test_a_build_names_a_missing_knowledge_folder_before_the_rules_it_holds(
    built: Settings,
) -> None:
    # a mistyped --knowledge-dir: the folder, not its safety.yaml, is what is wrong
    moved = built.model_copy(update={"knowledge_dir": built.knowledge_dir.parent / "typo"})
    with pytest.raises(KnowledgeError, match="folder not found"):
        service.build(moved)


def test_a_damaged_index_is_built_again_though_its_knowledge_is_unchanged(
    built: Settings,
) -> None:
    (current_path(built.index_dir) / "store.json").write_text("{}", encoding="utf-8")
    result = service.build(built, embedder=FakeEmbedder())
    assert result.built and result.reason.startswith("the current index is damaged")


def test_a_build_checks_once_whether_it_must_build(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the service finds why; the builder does not look again (a damaged index was loaded twice)
    checks: list[str] = []
    check = builder.up_to_date

    def counted(*args: object) -> object:
        checks.append("checked")
        return check(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(builder, "up_to_date", counted)
    monkeypatch.setattr(service, "up_to_date", counted)
    (current_path(built.index_dir) / "store.json").write_text("{}", encoding="utf-8")
    result = service.build(built, embedder=FakeEmbedder())
    assert result.built and result.reason.startswith("the current index is damaged")
    assert checks == ["checked"]
