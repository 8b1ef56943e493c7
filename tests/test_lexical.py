import os
import subprocess
import sys
from pathlib import Path

import bm25s
import numpy as np
import pytest

from bot.lexical import _STOPWORDS, SAVED_FILES, Bm25, Bm25Error

QUERIES = [
    "How many patients were in the Swedish study?",
    "tranplant side efects",
    "What’s the 10-year outcome for RRMS (relapsing-remitting) patients?",
    "Où est l'hôpital? naïve café, co-operate; e-mail A I x 5 50 70–80%",
    "does DOES does what how",
    "",
    "   ",
]


@pytest.mark.parametrize("query", QUERIES)
def test_query_words_are_what_bm25s_makes_of_them(query: str) -> None:
    bm25 = Bm25(["a text about stem cell transplants"])
    expected = bm25s.tokenize(
        [query],
        stopwords=_STOPWORDS,
        stemmer=bm25._stemmer,
        return_ids=False,
        show_progress=False,
    )[0]
    assert bm25.query_tokens(query) == expected


def test_scores_rank_the_text_sharing_stemmed_words_first() -> None:
    bm25 = Bm25(["stem cell transplants in Sweden", "relapses and disability", "cats"])
    scores = bm25.scores("a transplant in sweden?")
    assert scores.argmax() == 0 and scores[2] == 0
    assert not bm25.scores("what does how").any()  # only stop words: nothing matches
    assert Bm25([]).scores("anything").size == 0


def test_matrix_bytes_grow_with_the_corpus() -> None:
    small = Bm25(["stem cell transplant"] * 10)
    large = Bm25(["stem cell transplant"] * 1000)
    assert 0 < small.matrix_bytes() < large.matrix_bytes()
    assert Bm25([]).matrix_bytes() == 0


def test_a_saved_index_loads_with_the_same_scores(tmp_path: Path) -> None:
    texts = ["stem cell transplants in Sweden", "relapses and disability", "cats", "Sweden"]
    built = Bm25(texts)
    built.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SAVED_FILES)
    loaded = Bm25.load(tmp_path)
    assert len(loaded) == len(built) == 4
    for query in [*QUERIES, "transplant in sweden", "disabilities", "cat"]:
        assert np.array_equal(loaded.scores(query), built.scores(query)), query


def test_an_empty_or_damaged_index_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        Bm25([]).save(tmp_path)
    Bm25(["stem cell transplant"]).save(tmp_path)
    (tmp_path / "params.index.json").write_text("{not json")
    with pytest.raises(Bm25Error, match="cannot read"):
        Bm25.load(tmp_path)
    with pytest.raises(Bm25Error, match="cannot read"):
        Bm25.load(tmp_path / "nothing here")


def test_the_signature_changes_with_how_texts_become_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """The build saves BM25, so the index records this and is rebuilt when it changes."""
    from bot import index, lexical

    before = lexical.signature()
    assert index.PARAMS["lexical"] == before
    monkeypatch.setattr(lexical, "_STOPWORDS", [*lexical._STOPWORDS, "ms"])
    assert lexical.signature() != before
    monkeypatch.undo()
    monkeypatch.setattr(lexical.bm25s, "__version__", "0.0.0")
    assert lexical.signature() != before


# the seed sources' words: enough distinct stems that two hash seeds order a set differently
_SOURCE_TEXTS = [
    line
    for path in sorted((Path(__file__).parents[1] / "knowledge" / "sources").glob("*.md"))
    for line in path.read_text(encoding="utf-8").splitlines()
    if line.strip()
]

_SAVE_AND_DIGEST = """
import hashlib, sys
from pathlib import Path
from bot.lexical import SAVED_FILES, Bm25
folder = Path(sys.argv[1])
Bm25(sys.stdin.read().splitlines()).save(folder)
print(hashlib.sha256(b"".join((folder / name).read_bytes() for name in SAVED_FILES)).hexdigest())
"""


def test_two_builds_of_the_same_texts_save_the_same_bytes(tmp_path: Path) -> None:
    """bm25s numbers words in a set's order, which follows each process's string hash seed."""
    digests = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-c", _SAVE_AND_DIGEST, str(tmp_path / seed)],
            input="\n".join(_SOURCE_TEXTS),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_words_are_numbered_alphabetically_and_score_as_bm25s_numbers_them() -> None:
    bm25 = Bm25(_SOURCE_TEXTS)
    vocabulary = list(bm25._model.vocab_dict)
    assert len(vocabulary) > 300
    assert vocabulary[:-1] == sorted(vocabulary[:-1]) and vocabulary[-1] == ""  # bm25s's last
    plain = bm25s.BM25()
    plain.index(
        bm25s.tokenize(
            _SOURCE_TEXTS, stopwords=_STOPWORDS, stemmer=bm25._stemmer, show_progress=False
        ),
        show_progress=False,
    )
    for query in [*QUERIES, *_SOURCE_TEXTS[::7]]:
        tokens = bm25.query_tokens(query)
        expected = plain.get_scores(tokens) if tokens else np.zeros(len(bm25))
        assert np.array_equal(bm25.scores(query), expected), query
