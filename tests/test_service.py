from pathlib import Path

from bot import service
from bot.hashmemo import MEMO
from bot.knowledge import hash_knowledge
from bot.settings import Settings


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
