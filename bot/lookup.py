"""Staff lookup: the passages a search finds, best first, with the matched words marked.

Support staff search every source, ``audience: staff`` ones included, and see each passage
whole with the quotable span the patient bot would cut from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.lexical import highlight
from bot.models import Passage, Source
from bot.retrieve import Retriever

MAX_RESULTS = 50


@dataclass(frozen=True)
class Found:
    """One passage a staff search found."""

    passage: Passage
    source: Source
    score: float
    segments: tuple[tuple[str, bool], ...]  # the passage text, matched words marked True
    answer: str  # the best quotable span of the passage, verbatim


def lookup(retriever: Retriever, query: str, k: int = 10) -> list[Found]:
    """The ``k`` best passages for ``query`` over all sources, each with its best span."""
    store = retriever.index.store
    results = retriever.search(query, k=len(store.spans), staff=True)  # corrects spelling itself
    corrected = retriever.speller.correct(query)  # the words to mark, as the search read them
    found: dict[str, Found] = {}
    for hit in results.hits:
        if hit.passage.id in found:
            continue
        source = store.sources[hit.passage.source_id]
        text = store.passage_text(hit.passage)
        found[hit.passage.id] = Found(
            passage=hit.passage,
            source=source,
            score=round(hit.score, 4),
            segments=tuple(highlight(corrected, text)),
            answer=store.quote(hit.span),
        )
        if len(found) == min(k, MAX_RESULTS):
            break
    return list(found.values())
