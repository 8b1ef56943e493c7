"""Build an index: embed the knowledge, write every artifact, check the ONNX export, then
publish the build atomically (layout and loading: :mod:`bot.index`).

Builds are serialised by a lock file, so two at once cannot clean up each other's work.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import platform
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bot import qtype
from bot.embed import Embedder, Vectors
from bot.index import (
    ARTIFACTS,
    FORMAT_VERSION,
    KINDS,
    LEXICAL,
    PARAMS,
    SEARCHED,
    TYPES,
    VOCABULARY,
    IndexError_,
    current_path,
    load_index,
    staleness,
)
from bot.knowledge import Knowledge, sha256_file
from bot.lexical import Bm25
from bot.onnxcheck import export_checked
from bot.passages import lexical_text, passage_text, span_text
from bot.progress import say
from bot.retrieve import CANDIDATES, PASSAGES_MAX
from bot.spelling import vocabulary
from bot.store import Store, build_store
from bot.vectors import EXACT_MAX, VectorIndex, build_vector_index, through_candidates

_VERSIONED = (
    "faqbot",
    "faiss-cpu",
    "numpy",
    "sentence-transformers",
    "torch",
    "onnxruntime",
    "pysbd",
)


@dataclass(frozen=True)
class BuildResult:
    """What ``build_index`` did."""

    built: bool
    path: Path
    manifest: dict[str, Any]
    reason: str


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


#: How the build's messages name each kind's texts.
_NAMES = {"passages": "passages", "spans": "spans", "faq": "FAQ phrasings"}


def _write_artifacts(
    folder: Path, store: Store, vectors: dict[str, Vectors], exact_max: int, progress: bool
) -> dict[str, dict[str, Any]]:
    """Write every artifact; returns each kind's index spec for the manifest."""
    specs: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        say(progress, f"Indexing the vectors of {len(vectors[kind])} {_NAMES[kind]}")
        index = build_vector_index(vectors[kind], exact_max, SEARCHED[kind])
        index.save(folder / f"{kind}.faiss")
        specs[kind] = index.spec
    if not specs["spans"].get("searched", True):  # the spans are found through passages
        say(progress, "Measuring how many passages a question's span candidates must come from")
        count, recall = _through_passages(folder, store, vectors, specs)
        specs["spans"] |= {"passages": count, "recall_at_10": recall}
    store.save(folder)
    quoted = [store.quote(span) for span in store.spans]  # in span row order
    headings = [store.passages[span.passage_index].headings for span in store.spans]
    (folder / LEXICAL).mkdir()
    say(progress, f"Indexing the words of {len(quoted)} spans (BM25)")
    Bm25(list(map(lexical_text, headings, quoted))).save(folder / LEXICAL)
    masks: dict[str, Any] = qtype.type_masks(quoted)  # Any: savez's keywords include a flag
    np.savez(folder / TYPES, **masks)
    (folder / VOCABULARY).write_text("\n".join(_vocabulary(store)), encoding="utf-8")
    return specs


def _through_passages(
    folder: Path, store: Store, vectors: dict[str, Vectors], specs: dict[str, dict[str, Any]]
) -> tuple[int, float]:
    """How many passages the passages' search must put forward for their spans to hold a
    question's closest spans (:func:`bot.vectors.through_candidates`), and the recall@10 that
    gives. No graph of the spans measures it, and with CANDIDATES passages it can be low:
    0.935 over 5 599 passages of real prose (software documentation, where 400 give 0.959),
    0.895 over 300 000 synthetic ones (1 600 gave 0.943 while faiss's walk stopped short:
    docs/performance.md, *Spans above 20 000 get no graph*). The passages' index is read back,
    memory-mapped, rather than kept: at scale it is gigabytes."""
    passages = VectorIndex.read(folder / "passages.faiss", specs["passages"])
    owners = store.span_passages
    return through_candidates(passages, vectors["spans"], owners, CANDIDATES, PASSAGES_MAX)


def _vocabulary(store: Store) -> list[str]:
    """The words questions are spelled against: the sources' bodies, the FAQ's phrasings and
    the passages' headings. The build parameters digest how words are found
    (:func:`bot.spelling.signature`), not which texts: changing these needs a FORMAT_VERSION."""
    texts = [s.body for s in store.sources.values()]
    texts += store.phrasings
    return vocabulary(texts + [h for p in store.passages for h in p.headings])


def _manifest(
    store: Store, folder: Path, embedder: Embedder, knowledge: Knowledge
) -> dict[str, Any]:
    sentences = sum(len(p.sentences) for p in store.passages)
    return {
        "format": FORMAT_VERSION,
        "build_id": folder.name.removeprefix(".tmp-"),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": embedder.name,
        "dimension": embedder.dimension,
        "metric": "inner_product_on_normalised_vectors",
        "params": PARAMS,
        "knowledge": knowledge.file_hashes,
        "artifacts": {name: sha256_file(folder / name) for name in ARTIFACTS},
        "counts": {
            "sources": len(store.sources),
            "passages": len(store.passages),
            "sentences": sentences,
            "spans": len(store.spans),
            "faq": len(store.faq_rows),
        },
        "versions": _versions(),
    }


def _texts(store: Store) -> dict[str, list[str]]:
    """What is embedded for each unit kind, in vector row order."""
    return {
        "passages": [passage_text(p, store.body(p)) for p in store.passages],
        "spans": [
            span_text(
                s, store.passages[s.passage_index], store.body(store.passages[s.passage_index])
            )
            for s in store.spans
        ],
        "faq": list(store.phrasings),
    }


@dataclass(frozen=True)
class _Embedded:
    """Every text of the store in kind order, its vectors in the same order, and those
    vectors split by kind."""

    texts: list[str]
    vectors: Vectors
    by_kind: dict[str, Vectors]


def _embed_store(store: Store, embedder: Embedder, progress: bool) -> _Embedded:
    """Vectors for every unit kind, embedded in one batch run (one progress bar)."""
    texts = _texts(store)
    flat = [t for kind in KINDS for t in texts[kind]]
    counts = ", ".join(f"{len(texts[kind])} {_NAMES[kind]}" for kind in KINDS)
    say(progress, f"Embedding {len(flat)} texts ({counts}) with {embedder.name}")
    vectors = embedder.encode(flat, progress=progress)
    split: dict[str, Vectors] = {}
    offset = 0
    for kind in KINDS:
        split[kind] = vectors[offset : offset + len(texts[kind])].reshape(-1, embedder.dimension)
        offset += len(texts[kind])
    return _Embedded(flat, vectors, split)


def _fsync_folder(folder: Path) -> None:
    for path in [*sorted(folder.rglob("*"), reverse=True), folder]:  # contents before folders
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish(index_dir: Path, tmp: Path) -> Path:
    """Move a finished build into place and repoint ``current`` at it atomically."""
    final = index_dir / "builds" / tmp.name.removeprefix(".tmp-")
    tmp.rename(final)
    link = index_dir / f".current-{uuid.uuid4().hex}"
    link.symlink_to(Path("builds") / final.name)
    os.replace(link, current_path(index_dir))
    return final


def _remove_old_builds(index_dir: Path, keep: Path) -> None:
    """Delete builds other than ``keep``, and temporary folders that crashed builds left."""
    for path in (index_dir / "builds").iterdir():
        if path != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def write_index(
    index_dir: Path,
    knowledge: Knowledge,
    embedder: Embedder,
    progress: bool = False,
    exact_max: int = EXACT_MAX,
) -> tuple[Path, dict[str, Any]]:
    """Embed the knowledge and publish a new index; returns its folder and manifest.

    Builds are serialised by a lock file, so two at once cannot clean up each other's work.
    ``exact_max``: see :func:`bot.vectors.plan_index`.
    """
    store = build_store(knowledge)
    embedded = _embed_store(store, embedder, progress)
    (index_dir / "builds").mkdir(parents=True, exist_ok=True)
    with (index_dir / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _write_and_publish(
            index_dir, store, embedded, embedder, knowledge, exact_max, progress
        )


def _write_and_publish(
    index_dir: Path,
    store: Store,
    embedded: _Embedded,
    embedder: Embedder,
    knowledge: Knowledge,
    exact_max: int,
    progress: bool,
) -> tuple[Path, dict[str, Any]]:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{stamp}-", dir=index_dir / "builds"))
    try:
        specs = _write_artifacts(tmp, store, embedded.by_kind, exact_max, progress)
        onnx = export_checked(tmp, embedder, embedded.texts, embedded.vectors, progress)
        manifest = _manifest(store, tmp, embedder, knowledge)
        manifest |= {"vector_index": specs, "onnx": onnx}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _fsync_folder(tmp)
        final = _publish(index_dir, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old_builds(index_dir, final)
    return final, manifest


def build_index(
    index_dir: Path,
    knowledge: Knowledge,
    model: str,
    make_embedder: Callable[[], Embedder],
    force: bool = False,
    progress: bool = False,
    exact_max: int = EXACT_MAX,
    stale: str | None = None,
) -> BuildResult:
    """Build the index unless it is already up to date (``force`` rebuilds regardless).

    The embedder is only created when a build is needed, so a no-op build stays fast.
    ``exact_max``: see :func:`bot.vectors.plan_index`. ``stale``: why the caller has already
    found (with :func:`up_to_date`) that it must build, so it is not checked again: a damaged
    index would be loaded a second time only to fail again.
    """
    if stale is not None:
        found: BuildResult | str = stale
    elif force:
        found = staleness(index_dir, knowledge.file_hashes, model) or "--force"
    else:
        found = up_to_date(index_dir, knowledge.file_hashes, model)
    if isinstance(found, BuildResult):
        return found
    path, manifest = write_index(index_dir, knowledge, make_embedder(), progress, exact_max)
    return BuildResult(True, path, manifest, found)


def up_to_date(index_dir: Path, knowledge_hashes: dict[str, str], model: str) -> BuildResult | str:
    """What a build does when the index in use was built from knowledge files with these
    hashes and this model and loads (nothing: ``built`` False), or why it must build."""
    reason = staleness(index_dir, knowledge_hashes, model)
    if reason is not None:
        return reason
    try:
        loaded = load_index(index_dir, model)
    except IndexError_ as exc:
        return f"the current index is damaged ({exc})"
    return BuildResult(False, current_path(index_dir), loaded.manifest, "up to date")
