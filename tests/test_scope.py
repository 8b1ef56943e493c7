from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from bot.scope import Scope

SCOPE = Scope(("autism", "cost", "hair loss", "parkinson"))


@pytest.mark.parametrize(
    "question",
    [
        "Is it good for AUTISM?",
        "what are the costs",
        "does it help hair  loss",
        "parkinson's disease treatment",
        "Parkinson’s",
    ],
)
def test_not_covered_topics_are_recognised(question: str) -> None:
    assert SCOPE.outside(question)


@pytest.mark.parametrize("question", ["is it costly?", "how long is recovery", "autistically"])
def test_only_whole_terms_count(question: str) -> None:
    assert SCOPE.outside(question) is None


def test_scope_file_is_validated(knowledge_dir: Path) -> None:
    (knowledge_dir / "scope.yaml").write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"scope\.yaml"):
        load_knowledge(knowledge_dir)
