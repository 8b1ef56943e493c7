"""The FAQ signal of retrieval: how close a question comes to each curated FAQ question, which
entry it most likely means, and how much that entry (and any in a near-tie with it) lifts its
quote among the ranked spans (:class:`bot.retrieve.Retriever`).

Questions match questions far better than they match statements with this kind of model. How
close the question comes to the FAQ at all is the best cosine similarity; *which* entry it means
is judged on cosine plus BM25 over the phrasings, since the model knows neither "HSCT" nor that
"who decides if I can have the treatment" is "Who decides if I can have HSCT?" rather than
"Could I qualify for it?". A clear lead in that judgement makes the winner's lift larger (see
FAQ_LEAD_SHARE).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bot.embed import Vectors
from bot.index import LoadedIndex
from bot.lexical import Bm25
from bot.models import FaqEntry
from bot.vectors import Rows

#: FAQ similarity below this lifts nothing; above it, the lift grows linearly to the weight.
FAQ_FLOOR = 0.7
#: Entries within this of the closest one are near-ties: each lifts its own quote, less the
#: further it trails, so that the other signals choose among the answers the question may mean
#: ("which countries offer it?" is as close to "where is it offered?" as to "which countries
#: have studied it?"). An entry that trails by this much or more lifts nothing.
FAQ_LEAD = 0.05
#: Share of the best-matching FAQ entry's lead over the next one (on cosine plus keywords, see
#: :meth:`FaqMatcher.matches`) added to the closest similarity to size that entry's lift. A
#: question plainly meaning one entry, though worded far from all its phrasings (misspelt, or
#: terse), is surer than its cosine alone says, so a clear leader just under FAQ_FLOOR lifts a
#: little and one above it lifts more; entries in a near-tie gain next to nothing. Measured on
#: eval and the held-out calibration questions: 0.23 to 0.30 alike; from 0.31 FAQ quotes start
#: to displace better-matching spans on held-out questions.
FAQ_LEAD_SHARE = 0.25


class FaqMatcher:
    """The FAQ of one loaded index, matched against questions.

    ``share`` is how much the phrasings' scaled BM25 counts beside cosine in choosing which
    entry a question means (:attr:`bot.retrieve.Weights.faq_lexical`).
    """

    def __init__(self, index: LoadedIndex, share: float) -> None:
        self.index = index
        self.share = share
        store = index.store
        # computed once, not per question: looked up for every FAQ hit
        self.rows = np.array(store.faq_rows, dtype=np.int64)  # phrasing row → entry
        self.span = {e.id: row for e, row in zip(store.faq, store.faq_spans, strict=True)}
        # keywords help tell FAQ entries apart: one text per phrasing, and its entry's id
        self.bm25 = Bm25(list(store.phrasings))
        self.phrasing_ids = tuple(store.faq[row].id for row in self.rows)

    @property
    def phrasing_ids(self) -> tuple[str, ...]:
        """Each phrasing's entry id, in phrasing row order."""
        return self._phrasing_ids

    @phrasing_ids.setter
    def phrasing_ids(self, ids: tuple[str, ...]) -> None:
        # grouped once here rather than on every question
        self._phrasing_ids = ids
        self._entry_ids, self._groups = _groups(ids)

    def scores(self, vector: Vectors) -> list[tuple[FaqEntry, float]]:
        """Each FAQ entry with the similarity of its closest phrasing, best first (entries
        tied on it in the order the search found them)."""
        rows, scores = self.index.top("faq", vector, len(self.rows))
        entries = self.rows[rows]
        _, first = np.unique(entries, return_index=True)  # where each entry is first found
        first.sort()  # the search's order is best first: so is each entry's first place
        faq = self.index.store.faq
        return [
            (faq[entry], score)
            for entry, score in zip(entries[first].tolist(), scores[first].tolist(), strict=True)
        ]

    def matches(
        self, faq: list[tuple[FaqEntry, float]], words: str
    ) -> list[tuple[FaqEntry, float]]:
        """Each FAQ entry with its cosine similarity plus its best phrasing's scaled BM25
        (times ``share``), best first: which entry the question most likely means."""
        lexical = _scaled(self.bm25.scores(words))
        per_entry = np.zeros(len(self._entry_ids))
        np.maximum.at(per_entry, self._groups, lexical)
        best = dict(zip(self._entry_ids, per_entry.tolist(), strict=True))
        mixed = [(e, score + self.share * best.get(e.id, 0.0)) for e, score in faq]
        return sorted(mixed, key=lambda item: item[1], reverse=True)

    def lifts(self, faq: list[tuple[FaqEntry, float]], words: str) -> dict[int, float]:
        """Span row → effective FAQ similarity, for the best matching entry and its near-ties.

        The lift's size comes from the closest cosine similarity (how surely the question is
        one the FAQ answers), raised for the best match by its lead (see :func:`_sureness`);
        which entries lift comes from :meth:`matches`. The best match lifts its quote fully;
        one trailing it by less than FAQ_LEAD lifts its own quote by a share that shrinks to
        nothing as the gap reaches FAQ_LEAD, so two entries in a dead heat lift alike and the
        dense, keyword and type signals decide. Nothing at or below FAQ_FLOOR lifts. (Entries
        quoting the same text are one answer: their quote keeps the larger lift.)
        """
        if not faq:
            return {}
        matches = self.matches(faq, words)
        best = matches[0][1]
        lifts: dict[int, float] = {}
        for rank, (entry, score) in enumerate(matches):
            gap = best - score
            if gap >= FAQ_LEAD:
                break
            sure = _sureness(faq[0][1], matches) if rank == 0 else faq[0][1]
            if sure <= FAQ_FLOOR:
                continue
            effective = FAQ_FLOOR + (sure - FAQ_FLOOR) * (1 - gap / FAQ_LEAD)
            row = self.span[entry.id]
            lifts[row] = max(lifts.get(row, 0.0), effective)
        return lifts


def _scaled(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """BM25 scores divided by the best one, so 0..1 (all zeros stay zeros)."""
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else scores


def _groups(ids: tuple[str, ...]) -> tuple[tuple[str, ...], Rows]:
    """The distinct ids in order of first appearance, and each position's index among them:
    lets a per-phrasing score be reduced to a per-entry one in one array operation."""
    distinct = tuple(dict.fromkeys(ids))
    where = {entry_id: i for i, entry_id in enumerate(distinct)}
    return distinct, np.array([where[entry_id] for entry_id in ids], dtype=np.int64)


def _sureness(closest: float, matches: list[tuple[FaqEntry, float]]) -> float:
    """How surely the question is the best-matching FAQ entry's: the closest cosine similarity
    plus FAQ_LEAD_SHARE of that entry's lead over the next in ``matches`` (at most 1)."""
    lead = matches[0][1] - matches[1][1] if len(matches) > 1 else 0.0
    return min(1.0, closest + FAQ_LEAD_SHARE * lead)
