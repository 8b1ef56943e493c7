"""Keyword (BM25) scoring, the lexical half of retrieval. The only module importing bm25s.

Embeddings blur the exact words patients use and the numbers they ask about ("how many
patients", "five years"); BM25 over stemmed words catches those.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer

from bot.postings import Asked, Postings, Rows, Scores, columns_sorted
from bot.words import FUNCTION_WORDS

# bm25s's own English list has 33 words and keeps "does", "what", "how": words every question
# has and no answer needs. Ours drops those too.
_STOPWORDS = sorted(FUNCTION_WORDS)
_STOPSET = FUNCTION_WORDS
#: bm25s's default token pattern (scikit-learn's): words of two or more characters
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STEMMER: Any = Stemmer.Stemmer("english")  # for query words; each index keeps its own
#: The files :meth:`Bm25.save` writes into its folder (bm25s's own format).
SAVED_FILES = (
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
    "vocab.index.json",
    "params.index.json",
)


def signature() -> str:
    """A digest of how texts become BM25 words (token pattern, stop words, stemmer, and the
    versions of bm25s and PyStemmer). The build saves the spans' BM25 index, so the index
    records this and is rebuilt when it changes: query words made another way would quietly
    miss the saved vocabulary."""
    parts = [_TOKEN.pattern, "english", *_STOPWORDS, bm25s.__version__, Stemmer.version()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class Bm25Error(Exception):
    """A saved BM25 index cannot be read."""


class Bm25:
    """A BM25 index over a fixed list of texts: built from them, or loaded as saved."""

    def __init__(self, texts: list[str]) -> None:
        self._stemmer: Any = Stemmer.Stemmer("english")
        self._size = len(texts)
        self._model: Any = bm25s.BM25()
        if texts:
            tokens = bm25s.tokenize(
                texts, stopwords=_STOPWORDS, stemmer=self._stemmer, show_progress=False
            )
            self._model.index(_alphabetical(tokens), show_progress=False)
            arrays = self._model.scores
            if not columns_sorted(arrays["indices"], arrays["indptr"]):  # bm25s builds them so
                raise Bm25Error("bm25s built a word's rows out of order: top() cannot search it")
        self._postings: Postings | None = None

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (:data:`SAVED_FILES`); an empty one cannot be."""
        if not self._size:
            raise ValueError("an empty BM25 index is not saved")
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> Bm25:
        """An index as :meth:`save` wrote it, its arrays memory-mapped: 0.03 s at 300 000
        texts, where indexing them again took 10.6 s; worker processes share the pages."""
        loaded = cls([])
        try:
            loaded._model = bm25s.BM25.load(str(folder), mmap=True)
            loaded._size = int(loaded._model.scores["num_docs"])
            # plain arrays over the same mapped pages: bm25s slices them for every query
            # word, and a slice of an np.memmap goes through Python-level code each time
            for name in ("data", "indices", "indptr"):
                loaded._model.scores[name] = loaded._model.scores[name].view(np.ndarray)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise Bm25Error(f"cannot read the BM25 index in {folder}: {exc}") from exc
        return loaded

    def __len__(self) -> int:
        return self._size

    def matrix_bytes(self) -> int:
        """Memory held by the sparse score matrix (what grows with the corpus)."""
        if not self._size:
            return 0
        arrays = (self._model.scores[name] for name in ("data", "indices", "indptr"))
        return sum(int(array.nbytes) for array in arrays)

    def query_tokens(self, query: str) -> list[str]:
        """The stemmed words of ``query`` as ``bm25s.tokenize`` makes them for the index (same
        pattern, stop words, stemmer), without its per-call set-up and progress-bar objects,
        which cost more than the scoring itself on every question."""
        return list(_query_tokens(query))

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """The BM25 score of every text for the query (zeros when nothing matches)."""
        if not self._size:
            return np.zeros(0, dtype=np.float32)
        tokens = self.query_tokens(query)
        if not tokens:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def ask(self, query: str) -> Asked:
        """The query's scores, to ask for its best texts and for any texts' scores: the same
        scores as :meth:`scores`, without scoring every text of a large index (see
        :mod:`bot.postings`; at four million texts that took 72 ms a question)."""
        return self._search().ask(self._word_ids(query))

    def top(self, query: str, k: int) -> tuple[Rows, Scores]:
        """The rows and scores of the (at most) ``k`` texts scoring highest for the query,
        best first, ties by row; only texts it matches."""
        return self.ask(query).top(k)

    def scores_of(self, query: str, rows: Rows) -> Scores:
        """The BM25 score of each of ``rows`` for the query: :meth:`scores` at those rows."""
        return self.ask(query).scores_of(rows)

    def _word_ids(self, query: str) -> list[int]:
        """The query's words as the index numbers them, in order, repeats kept, unknown ones
        left out (as bm25s scores them)."""
        return self._model.get_tokens_ids(self.query_tokens(query)) if self._size else []

    def _search(self) -> Postings:
        """The index's score matrix as :class:`Postings`, made on first use."""
        if self._postings is None:
            arrays = self._model.scores if self._size else _EMPTY
            self._postings = Postings(
                arrays["data"], arrays["indices"], arrays["indptr"], self._size
            )
        return self._postings


#: The score matrix of an index of no texts (bm25s has none).
_EMPTY: dict[str, Any] = {
    "data": np.zeros(0, dtype=np.float32),
    "indices": np.zeros(0, dtype=np.int32),
    "indptr": np.zeros(1, dtype=np.int32),
}


def _alphabetical(tokens: Any) -> Any:
    """``bm25s.tokenize``'s result with its words renumbered in alphabetical order.

    bm25s numbers the stemmed words in the order of a ``set``, which changes with each
    process's string hash seed, so two builds of the same texts saved different bytes. Scores
    do not depend on the numbering: a query's words are summed in the query's order. Costs
    2.0-3.2 s at a million synthetic texts, beside 46-49 s to tokenise and index them.
    """
    words = sorted(tokens.vocab)
    renumbered = {word: i for i, word in enumerate(words)}
    new_id = [0] * len(words)
    for word, old in tokens.vocab.items():
        new_id[old] = renumbered[word]
    for text in tokens.ids:  # in place: a second copy of every text's words is not needed
        text[:] = map(new_id.__getitem__, text)
    return bm25s.tokenization.Tokenized(ids=tokens.ids, vocab=renumbered)


@functools.lru_cache(maxsize=64)
def _query_tokens(query: str) -> tuple[str, ...]:
    """See :meth:`Bm25.query_tokens`. Every index tokenises alike, so a question scored against
    the spans and then the FAQ phrasings is tokenised once (the second call is a cache hit)."""
    words = [w for w in _TOKEN.findall(query.lower()) if w not in _STOPSET]
    return tuple(_STEMMER.stemWords(words))


_WORD = re.compile(r"\w+")


def highlight(query: str, text: str) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each marked True when it is a word sharing a stem with a
    content word of ``query``: what a staff search shows in bold. The pieces join to ``text``."""
    stemmer = _STEMMER
    wanted = {stemmer.stemWord(w) for w in _WORD.findall(query.lower()) if w not in _STOPSET}
    pieces: list[tuple[str, bool]] = []
    at = 0
    for match in _WORD.finditer(text):
        if stemmer.stemWord(match.group().lower()) in wanted:
            if match.start() > at:
                pieces.append((text[at : match.start()], False))
            pieces.append((match.group(), True))
            at = match.end()
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces
