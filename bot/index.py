"""The search index on disk: its layout, manifest and staleness, and loading it verified.
Making one is :mod:`bot.builder`'s job; vector search itself is :mod:`bot.vectors`'.

Layout of the index folder::

    index/current -> builds/<build id>      (symlink, swapped atomically)
    index/builds/<build id>/passages.faiss  inner product over normalised passage vectors:
                                            exact up to EXACT_MAX vectors, HNSW above
                            spans.faiss     the same over quotable spans (1-3 sentences),
                                            but above EXACT_MAX kept flat and not searched:
                                            a question's candidates are the spans of the
                                            passages its passage search returns, as many
                                            as the manifest's spans ``passages`` says
                                            (bot.retrieve);
                                            the .faiss files are memory-mapped when loaded
                            faq.faiss       the same over every phrasing of every FAQ question
                            store.json      sources, FAQ, passage ids and headings (bot.store)
                            store-bodies.txt
                                            the sources' bodies, UTF-8, memory-mapped when
                                            loaded and decoded as quotes need them
                            store-*.npy     passages, sentences and spans as integer rows
                                            (bot.tables), memory-mapped when loaded
                            spans.bm25/     BM25 over each span with its headings (bm25s's
                                            files, memory-mapped when loaded)
                            types.npz       which spans hold a number, a time, a place … (bot.qtype)
                            vocabulary.txt  the words questions are spelled against (bot.spelling)
                            manifest.json   written last; hashes of every artifact and input
                            checked.json    the hashes of the artifacts and the ONNX files
                                            as loads found them, taken while each file is
                                            unchanged (bot.hashmemo; not an artifact)

A build writes into a temporary folder, renames it into ``builds/`` and only then repoints
``current``, so a crash at any moment leaves the previous index whole (:mod:`bot.builder`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot import qtype, spelling
from bot.embed import Vectors
from bot.hashmemo import HashMemo
from bot.lexical import SAVED_FILES, Bm25, Bm25Error
from bot.lexical import signature as lexical_signature
from bot.passages import MAX_SPAN_CHARS, MIN_SPAN_WORDS
from bot.store import FILES as STORE_FILES
from bot.store import Store
from bot.vectors import (
    Rows,
    Scores,
    VectorIndex,
    VectorIndexError,
)

# Bump when what is indexed changes without the knowledge files changing.
FORMAT_VERSION = 10  # 9: passages, sentences and spans as integer arrays; 10: bodies apart
#: The spans' BM25 index, answer types and the spelling vocabulary: made with the vectors
#: rather than at every start-up, where at 100 000 passages they took 10.6 s, 3.2 s (300 000
#: spans) and 1.2-1.5 s.
LEXICAL = "spans.bm25"
TYPES = "types.npz"
VOCABULARY = "vocabulary.txt"
ARTIFACTS = (
    "passages.faiss",
    "spans.faiss",
    "faq.faiss",
    *STORE_FILES,
    *(f"{LEXICAL}/{name}" for name in SAVED_FILES),
    TYPES,
    VOCABULARY,
)
#: The kinds of unit with a vector index each.
KINDS = ("passages", "spans", "faq")
#: Whether each kind's vectors are searched. The spans' are only scored by row: above
#: EXACT_MAX they get no graph, and a question's candidates are the spans of the passages its
#: passage search returns (bot.vectors.plan_index, bot.retrieve).
SEARCHED = {"passages": True, "spans": False, "faq": True}
PARAMS = {
    "max_span_chars": MAX_SPAN_CHARS,
    "min_span_words": MIN_SPAN_WORDS,
    "answer_types": qtype.signature(),
    "lexical": lexical_signature(),
    "vocabulary": spelling.signature(),
}


class IndexError_(Exception):
    """The index is missing, corrupt, or does not match what the server is configured for."""


class LoadedIndex:
    """A verified index in memory: the store, one FAISS index per unit kind, and the spans'
    BM25 index and answer types."""

    def __init__(
        self,
        store: Store,
        indexes: dict[str, VectorIndex],
        lexical: Bm25,
        types: dict[str, npt.NDArray[np.bool_]],
        vocabulary: list[str],
        manifest: dict[str, Any],
        folder: Path | None = None,
    ):
        self.store = store
        self.vocabulary = vocabulary  # what questions are spelled against (bot.spelling)
        self.manifest = manifest
        self.folder = folder  # the build folder it was read from (holds the ONNX model)
        self.vectors = indexes
        self.lexical = lexical
        self.types = types  # answer type → which span rows hold it

    def score(self, kind: str, vector: Vectors, rows: Sequence[int] | Rows) -> Scores:
        """Inner product of ``vector`` with the given rows of ``kind`` (exact, any rows)."""
        return self.vectors[kind].score(vector, np.asarray(rows, dtype=np.int64))

    def search(self, kind: str, vector: Vectors, k: int) -> list[tuple[int, float]]:
        """Top-k rows of ``kind`` (passages, spans or faq) by inner product with ``vector``."""
        rows, scores = self.top(kind, vector, k)
        return list(zip(rows.tolist(), scores.tolist(), strict=True))

    def top(self, kind: str, vector: Vectors, k: int) -> tuple[Rows, Scores]:
        """:meth:`search` as arrays (rows, scores), best first: no Python object per row."""
        index = self.vectors[kind]
        k = min(k, index.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, rows = index.search(vector.reshape(1, -1), k)
        found = rows[0] >= 0  # an approximate index may return fewer than k
        return rows[0][found], scores[0][found]


def current_path(index_dir: Path) -> Path:
    """The folder of the index in use (through the ``current`` symlink)."""
    return index_dir / "current"


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The manifest of the current index, or None when there is none readable."""
    return _read_manifest_at(current_path(index_dir))


def _read_manifest_at(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def staleness(index_dir: Path, knowledge_hashes: dict[str, str], model: str) -> str | None:
    """Why the current index must be rebuilt, or None when it is up to date."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return "no index has been built yet"
    checks = [
        (manifest.get("format") == FORMAT_VERSION, "the index format changed"),
        (manifest.get("model") == model, f"the model changed to '{model}'"),
        (manifest.get("params") == PARAMS, "the chunking parameters changed"),
        (manifest.get("knowledge") == knowledge_hashes, "the knowledge files changed"),
    ]
    return next((why for ok, why in checks if not ok), None)


def _read_types(path: Path) -> dict[str, npt.NDArray[np.bool_]]:
    with np.load(path, allow_pickle=False) as saved:
        return {name: np.asarray(saved[name], dtype=bool) for name in saved.files}


def check_dimension(manifest: dict[str, Any], dimension: int) -> None:
    """Raise :class:`IndexError_` unless the index's vectors have ``dimension`` entries."""
    if manifest.get("dimension") != dimension:
        raise IndexError_(f"index dimension {manifest.get('dimension')} is not {dimension}")


def _unmatched(memo: HashMemo, name: str, expected: str | None) -> Path | None:
    """The artifact's path when it is missing or its SHA-256 is not ``expected``, else None."""
    return None if memo.matches(name, expected) else memo.folder / name


def _check_artifacts(checked: list[Future[Path | None]]) -> None:
    """Raise for the first artifact :func:`_unmatched` found missing or changed, if any
    (an OSError while hashing propagates: :func:`load_index` reports it)."""
    path = next((p for p in (c.result() for c in checked) if p is not None), None)
    if path is not None:
        raise IndexError_(
            f"{path} is missing"
            if not path.is_file()
            else f"{path} does not match its SHA-256 in the manifest"
        )


def _verified_store(folder: Path, manifest: dict[str, Any]) -> Store:
    """The store, parsed while two other threads check every artifact's SHA-256, a file each
    at a time.

    Hashing lets go of the GIL, and since the store is arrays mapped from disk it is the check
    that takes longest: at 300 000 passages (2.6 GB, spans.faiss 1.8 GB of it) the index
    loaded in 2.3-2.4 s with one thread hashing, 1.8-1.9 s with two. A hash checked before is
    taken from the folder's memo while the file is unchanged (:mod:`bot.hashmemo`): 0.6 s. The
    first artifact found changed (in ARTIFACTS order) is reported before anything the parse
    raised, and nothing but this parse and the memo's (plain JSON and arrays of integers, no
    pickles: safe on any input; a damaged memo is ignored) reads a file before the check.
    """
    hashes = manifest.get("artifacts", {})
    memo = HashMemo(folder)
    pool = ThreadPoolExecutor(max_workers=2)
    checked = [pool.submit(_unmatched, memo, name, hashes.get(name)) for name in ARTIFACTS]
    try:
        try:
            store = Store.load(folder)
        except Exception:  # a changed file is the better reason, whatever the parse raised
            _check_artifacts(checked)
            raise
        _check_artifacts(checked)
    finally:  # a refusal need not wait for the files after the one found changed
        pool.shutdown(wait=False, cancel_futures=True)
    memo.save()  # not after a refusal: hashes of the files after it may still be running
    return store


def _check_counts(store: Store, indexes: dict[str, VectorIndex], manifest: dict[str, Any]) -> None:
    counts = manifest.get("counts", {})
    stored = {
        "passages": len(store.passages),
        "spans": len(store.spans),
        "faq": len(store.faq_rows),
    }
    for kind in KINDS:
        if not stored[kind] == indexes[kind].ntotal == counts.get(kind):
            raise IndexError_(
                f"{kind}: manifest says {counts.get(kind)}, store has {stored[kind]}, "
                f"vectors {indexes[kind].ntotal}"
            )
    dims = {index.dimension for index in indexes.values()} | {manifest.get("dimension")}
    if len(dims) != 1:
        raise IndexError_(f"vector dimensions disagree: {sorted(map(str, dims))}")


def load_index(index_dir: Path, model: str, dimension: int | None = None) -> LoadedIndex:
    """Load the current index and verify it against its manifest and the configured model.

    Raises :class:`IndexError_` naming the problem: a missing or corrupt artifact, counts that
    disagree, or a model or dimension other than the one queries will be embedded with.
    """
    # resolved once: a build published meanwhile cannot mix its files into this load
    folder = current_path(index_dir).resolve()
    manifest = _read_manifest_at(folder)
    if manifest is None:
        raise IndexError_(f"no readable index at {folder} (run 'faqbot build')")
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexError_(f"index format {manifest.get('format')} is not {FORMAT_VERSION}")
    if manifest.get("model") != model:
        raise IndexError_(f"index was built with model '{manifest.get('model')}', not '{model}'")
    if dimension is not None:
        check_dimension(manifest, dimension)
    try:
        store = _verified_store(folder, manifest)
        specs = manifest.get("vector_index", {})
        indexes = {
            kind: VectorIndex.read(folder / f"{kind}.faiss", specs.get(kind, {})) for kind in KINDS
        }
        lexical = Bm25.load(folder / LEXICAL)
        types = _read_types(folder / TYPES)
        vocabulary = (folder / VOCABULARY).read_text(encoding="utf-8").split()
    except (ValueError, RuntimeError, AttributeError, OSError, VectorIndexError, Bm25Error) as exc:
        raise IndexError_(f"cannot read index at {folder}: {exc}") from exc
    _check_counts(store, indexes, manifest)
    per_span = {"BM25": len(lexical)} | {f"{name} types": len(m) for name, m in types.items()}
    for what, count in per_span.items():
        if count != len(store.spans):
            raise IndexError_(f"spans: {what} cover {count}, store has {len(store.spans)}")
    return LoadedIndex(store, indexes, lexical, types, vocabulary, manifest, folder)
