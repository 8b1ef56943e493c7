from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge


def _faq(folder: Path, text: str) -> None:
    (folder / "faq.yaml").write_text(text, encoding="utf-8")


def test_faq_entry_keeps_offsets_of_its_verbatim_quote(knowledge_dir: Path) -> None:
    knowledge = load_knowledge(knowledge_dir)
    entry = knowledge.faq[0]
    body = knowledge.source(entry.source_id).body
    assert body[entry.start : entry.end] == "Most people return to work after three months of rest."
    assert entry.phrasings == ("How long does recovery take?", "When can I go back to work?")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("quote: Most people return to work after four months of rest.", "not found verbatim"),
        ("quote: most people return to work after three months of rest.", "not found verbatim"),
        ("source: nowhere\n  quote: x", "unknown source 'nowhere'"),
    ],
)
def test_bad_faq_entry_fails_naming_the_entry(
    knowledge_dir: Path, entry: str, problem: str
) -> None:
    source = "" if entry.startswith("source") else "source: tiny-blog\n  "
    _faq(knowledge_dir, f"- id: broken\n  question: Q?\n  {source}{entry}\n")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_dir)
    message = str(caught.value)
    assert "faq.yaml: entry 'broken'" in message and problem in message


def test_duplicate_and_incomplete_faq_entries(knowledge_dir: Path) -> None:
    entry = "- id: a\n  question: Q?\n  source: tiny-blog\n  quote: Most people return to work\n"
    _faq(knowledge_dir, entry + entry + "- question: no id\n")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_dir)
    assert any("duplicate id 'a'" in p for p in caught.value.problems)
    assert any("entry #3" in p and "missing 'id'" in p for p in caught.value.problems)


def test_faq_must_be_a_list(knowledge_dir: Path) -> None:
    _faq(knowledge_dir, "id: not-a-list\n")
    with pytest.raises(KnowledgeError, match="must be a list"):
        load_knowledge(knowledge_dir)
