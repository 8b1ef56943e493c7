"""Checks on the ONNX query path (the export itself: :mod:`bot.embed`).

At build time the model is exported beside the index and must embed every corpus text as the
build did before the manifest calls the export usable; at load time its files must still match
the hashes the manifest recorded before serving embeds queries with it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bot.embed import ONNX_FILES, Embedder, EmbedderError, OnnxEmbedder, Vectors
from bot.hashmemo import HashMemo
from bot.knowledge import sha256_file
from bot.progress import say

#: Every corpus text must embed the same through ONNX as through sentence-transformers.
ONNX_MIN_COSINE = 0.9999


def export_checked(
    folder: Path, embedder: Embedder, texts: list[str], expected: Vectors, progress: bool = False
) -> dict[str, Any]:
    """Export the model to ONNX in ``folder`` and check it embeds every text as ``expected``
    (the build's vectors, one row per text; cosine >= ONNX_MIN_COSINE): the manifest's
    ``onnx`` entry, usable only then. ``progress`` shows the check's bar on stderr.

    The fused graph is tried first; if it fails the check, the plain export is tried."""
    export = getattr(embedder, "export_onnx", None)
    if export is None:
        return {"usable": False, "reason": f"{type(embedder).__name__} cannot be exported"}
    say(progress, f"Exporting the model to ONNX and checking it on {len(texts)} texts")
    checked = (embedder.name, texts, expected, progress)
    result = _checked_export(export, folder, *checked, fuse=True)
    if not result["usable"] and result.get("fused"):
        say(progress, f"The fused export failed ({result['reason']}): checking the plain one")
        result = _checked_export(export, folder, *checked, fuse=False)
    return result


def _checked_export(
    export: Callable[..., dict[str, Any]],
    folder: Path,
    model_name: str,
    texts: list[str],
    expected: Vectors,
    progress: bool,
    fuse: bool,
) -> dict[str, Any]:
    """One export and its check against the build's vectors."""
    try:
        config = export(folder, fuse=fuse)
        onnx = OnnxEmbedder(folder, model_name)
        vectors = onnx.encode(texts, progress=progress)
        cosines = np.sum(vectors * expected, axis=1) if texts else np.ones(1)
    except (EmbedderError, OSError, RuntimeError, ValueError) as exc:
        return {"usable": False, "reason": f"export failed: {exc}"}
    worst = float(cosines.min())
    usable = worst >= ONNX_MIN_COSINE
    return {
        "usable": usable,
        "fused": bool(config.get("fused")),
        "min_cosine": round(worst, 6),
        "texts_checked": len(texts),
        "files": {name: sha256_file(folder / name) for name in ONNX_FILES},
        "reason": "verified" if usable else f"a text embeds differently (cosine {worst:.6f})",
    }


def onnx_problem(manifest: dict[str, Any], folder: Path | None) -> str | None:
    """Why the export in an index ``folder`` must not embed queries (None: it may). Missing or
    changed ONNX files only cost speed, so they are checked here, not when the index loads."""
    onnx = manifest.get("onnx", {})
    if not onnx.get("usable") or folder is None:
        return str(onnx.get("reason", "the index has no ONNX export"))
    memo = HashMemo(folder)  # model.onnx is 90 MB: about 0.1 s of every start to hash
    hashes = onnx.get("files", {})
    changed = next((name for name in ONNX_FILES if not memo.matches(name, hashes.get(name))), None)
    if changed is not None:
        return f"{folder / changed} is missing or does not match its SHA-256"
    memo.save()
    return None
