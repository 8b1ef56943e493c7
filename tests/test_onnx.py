"""The ONNX query path: exported and verified at build time, used when serving (without
importing torch), and sentence-transformers as the fallback when it is not usable. Uses the
real model, since matching it is the point."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bot import builder, onnxcheck, service
from bot import embed as embed_module
from bot.embed import ONNX_FILES, CachedEmbedder, Embedder, OnnxEmbedder
from bot.evaluate import load_sets, run_eval
from bot.index import current_path, load_index
from bot.onnxcheck import ONNX_MIN_COSINE
from bot.settings import Settings
from tests.conftest import ROOT, FakeEmbedder


@pytest.fixture
def onnx_settings(real_settings: Settings) -> Settings:
    """The session's real index, built with the real model (and so exported to ONNX)."""
    return real_settings


def test_the_build_verifies_the_export_on_every_corpus_text(onnx_settings: Settings) -> None:
    manifest = load_index(onnx_settings.index_dir, onnx_settings.model).manifest
    onnx, counts = manifest["onnx"], manifest["counts"]
    assert onnx["usable"] and onnx["min_cosine"] >= ONNX_MIN_COSINE
    assert onnx["fused"], "all-MiniLM-L6-v2 is a BERT: its attention should fuse"
    assert onnx["texts_checked"] == counts["passages"] + counts["spans"] + counts["faq"]


def test_onnx_and_sentence_transformers_give_the_same_vectors(
    onnx_settings: Settings, real_embedder: Embedder
) -> None:
    onnx = OnnxEmbedder(current_path(onnx_settings.index_dir).resolve(), onnx_settings.model)
    texts = ["When can I go back to work?", "x", "a long question about MS " * 60, "ÄÖü 38 °C"]
    cosines = np.sum(onnx.encode(texts) * real_embedder.encode(texts), axis=1)
    assert cosines.min() >= ONNX_MIN_COSINE


def test_the_graph_pools_and_normalises_and_one_text_embeds_as_in_a_batch(
    onnx_settings: Settings,
) -> None:
    """Pooling and normalising are in the exported graph; a single query (tokenised on its
    own) gets the same vector as inside a padded batch."""
    folder = current_path(onnx_settings.index_dir).resolve()
    assert json.loads((folder / "onnx.json").read_text())["pooled"] is True
    onnx = OnnxEmbedder(folder, onnx_settings.model)
    assert [o.name for o in onnx._session.get_outputs()] == ["sentence_embedding"]
    texts = ["When can I go back to work?", "a much longer question about relapses " * 5]
    batch = onnx.encode(texts)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for text, row in zip(texts, batch, strict=True):
        assert float(onnx.encode([text])[0] @ row) >= ONNX_MIN_COSINE


class _Widths:
    """Wraps an ONNX session and records the shape of every batch it runs."""

    def __init__(self, session: object) -> None:
        self.session, self.shapes = session, []

    def run(self, outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.shapes.append(feeds["input_ids"].shape)
        return self.session.run(outputs, feeds)  # type: ignore[attr-defined]


def test_a_long_list_runs_in_batches_of_like_length_and_keeps_its_order(
    onnx_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build's texts alternate long passages and short spans: each batch is padded only to
    its own longest text, so sorted batches pad little, and every row is still its own
    text's vector (as embedded alone), across windows sorted apart."""
    onnx = OnnxEmbedder(current_path(onnx_settings.index_dir).resolve(), onnx_settings.model)
    long = "Stem cell transplants may halt the progression of MS for many patients. " * 4
    texts = [f"{long} ({i})" if i % 2 else f"Relapse {i}?" for i in range(70)]
    widths = onnx._session = _Widths(onnx._session)
    vectors = onnx.encode(texts, progress=True)
    tokens = sum(len(onnx._tokenizer.encode(text).ids) for text in texts)
    padded = sum(rows * width for rows, width in widths.shapes)
    assert len(widths.shapes) == 3 and padded <= 1.2 * tokens  # in the given order: 1.8x
    for text, row in zip(texts, vectors, strict=True):
        assert float(onnx.encode([text])[0] @ row) >= ONNX_MIN_COSINE
    assert "70/70" in capsys.readouterr().err  # the bar a build shows
    monkeypatch.setattr(embed_module, "_WINDOW", 40)  # sorted apart: 40 texts, then 30
    assert np.allclose(onnx.encode(texts), vectors, atol=1e-5)


def test_one_question_is_not_padded_to_the_tokenizer_files_length(
    onnx_settings: Settings,
) -> None:
    """all-MiniLM-L6-v2's tokenizer.json pads to 128 tokens: left on, a short question would
    cost six times its own length."""
    folder = current_path(onnx_settings.index_dir).resolve()
    assert json.loads((folder / "tokenizer.json").read_text())["padding"]["strategy"] == {
        "Fixed": 128
    }
    onnx = OnnxEmbedder(folder, onnx_settings.model)
    widths = onnx._session = _Widths(onnx._session)
    onnx.encode(["When can I go back to work?"])
    assert widths.shapes == [(1, 10)]  # [CLS] 8 words-and-marks [SEP]


class _TokenStates:
    """A session like an export made before pooling moved into the graph: token states out."""

    def __init__(self, states: np.ndarray) -> None:
        self.states = states

    def run(self, outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [self.states[:, : feeds["input_ids"].shape[1]]]


def test_an_export_from_before_pooling_in_the_graph_is_pooled_after_the_run(
    onnx_settings: Settings,
) -> None:
    onnx = OnnxEmbedder(current_path(onnx_settings.index_dir).resolve(), onnx_settings.model)
    onnx._pooled = False
    states = np.random.default_rng(0).normal(size=(1, 64, 384)).astype(np.float32)
    onnx._session = _TokenStates(states)
    tokens = len(onnx._tokenizer.encode("hello there").ids)
    expected = states[0, :tokens].mean(axis=0)
    expected /= np.linalg.norm(expected)
    assert np.allclose(onnx.encode(["hello there"])[0], expected, atol=1e-6)


class _CopiedExport:
    """Stands in for the model's exporter: copies a verified export, saying it was fused
    when asked to fuse (no torch export, so the test stays quick)."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, source: Path) -> None:
        self.source, self.asked = source, []

    def export_onnx(self, folder: Path, fuse: bool = True) -> dict[str, object]:
        self.asked.append(fuse)
        for name in ONNX_FILES:
            shutil.copyfile(self.source / name, folder / name)
        config = json.loads((folder / "onnx.json").read_text()) | {"fused": fuse}
        (folder / "onnx.json").write_text(json.dumps(config))
        return config


class _DriftsWhenFused(OnnxEmbedder):
    """An ONNX embedder whose fused graph is a little off: the check must catch it."""

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = super().encode(texts, progress)
        if json.loads((self.folder / "onnx.json").read_text())["fused"]:
            vectors[:, 0] += 0.05
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors


def test_a_fused_graph_that_drifts_is_replaced_by_the_plain_export(
    onnx_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = current_path(onnx_settings.index_dir).resolve()
    store = load_index(onnx_settings.index_dir, onnx_settings.model).store
    plain = OnnxEmbedder(source, onnx_settings.model)
    texts = [t for kind_texts in builder._texts(store).values() for t in kind_texts]
    monkeypatch.setattr(onnxcheck, "OnnxEmbedder", _DriftsWhenFused)
    exporter = _CopiedExport(source)
    result = onnxcheck.export_checked(tmp_path, exporter, texts, plain.encode(texts))  # type: ignore[arg-type]
    assert exporter.asked == [True, False]
    assert result["usable"] and not result["fused"] and result["min_cosine"] >= ONNX_MIN_COSINE


def test_serving_uses_onnx_and_never_imports_torch(onnx_settings: Settings) -> None:
    script = (
        "import sys\n"
        "from bot import service\n"
        "from bot.settings import Settings\n"
        f"s = Settings(knowledge_dir={str(onnx_settings.knowledge_dir)!r}, "
        f"index_dir={str(onnx_settings.index_dir)!r})\n"
        "bot = service.load_bot(s)\n"
        "reply = bot.answerer.reply('When can I go back to work after the transplant?')\n"
        "print(bot.embedder.backend, reply.kind, 'torch' in sys.modules, "
        "'sentence_transformers' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["OnnxEmbedder", "answer", "False", "False"]


def test_eval_accuracy_is_the_same_through_onnx(
    onnx_settings: Settings, real_embedder: Embedder
) -> None:
    cases = load_sets(onnx_settings.eval_dir)["questions"]
    through_onnx = service.load_bot(onnx_settings)
    through_torch = service.load_bot(onnx_settings, real_embedder)
    assert isinstance(through_onnx.embedder, CachedEmbedder)
    assert through_onnx.embedder.backend == "OnnxEmbedder"
    onnx_replies = [r.reply for r in run_eval(through_onnx.answerer, cases, ranks=False).results]
    torch_replies = [r.reply for r in run_eval(through_torch.answerer, cases, ranks=False).results]
    for a, b in zip(onnx_replies, torch_replies, strict=True):
        assert (a.kind, [q.text for q in a.quotes]) == (b.kind, [q.text for q in b.quotes])


def test_without_a_usable_export_it_falls_back_and_says_so(
    onnx_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(onnx_settings.index_dir, copy, symlinks=True)
    (current_path(copy) / "model.onnx").unlink()
    settings = onnx_settings.model_copy(update={"index_dir": copy})
    with caplog.at_level(logging.WARNING, logger="faqbot"):
        bot = service.load_bot(settings)
    assert isinstance(bot.embedder, CachedEmbedder)
    assert bot.embedder.backend == "SentenceTransformerEmbedder"
    assert "model.onnx is missing" in caplog.text and "sentence-transformers" in caplog.text
    assert bot.answerer.reply("When can I go back to work?").kind == "answer"


def test_an_unverified_export_is_not_used(onnx_settings: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(onnx_settings.index_dir, copy, symlinks=True)
    manifest_path = current_path(copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["onnx"] |= {"usable": False, "reason": "a text embeds differently"}
    manifest_path.write_text(json.dumps(manifest))
    bot = service.load_bot(onnx_settings.model_copy(update={"index_dir": copy}))
    assert bot.embedder.backend == "SentenceTransformerEmbedder"  # type: ignore[attr-defined]


def test_the_export_checked_once_is_not_read_again_until_it_changes(
    onnx_settings: Settings,
    tmp_path: Path,
    hash_reads: list[str],
    not_racy: None,  # the copy's files are just written
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(onnx_settings.index_dir, copy, symlinks=True)
    folder = current_path(copy)
    manifest = json.loads((folder / "manifest.json").read_text())
    reads = hash_reads
    assert onnxcheck.onnx_problem(manifest, folder) is None
    assert sorted(reads) == sorted(ONNX_FILES)  # the copy's inodes are new: read
    reads.clear()
    assert onnxcheck.onnx_problem(manifest, folder) is None
    assert reads == []
    time.sleep(0.03)  # past the kernel's coarse file clock tick
    graph = folder / "model.onnx"
    data = graph.read_bytes()
    graph.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit, the same size
    problem = onnxcheck.onnx_problem(manifest, folder)
    assert problem is not None and "model.onnx is missing or does not match" in problem


def test_query_cache_answers_repeats_without_the_model() -> None:
    inner = FakeEmbedder()
    cached = CachedEmbedder(inner, size=2)
    first = cached.encode(["a question"])
    again = cached.encode(["a question"])
    assert inner.calls == 1 and cached.hits == 1 and np.array_equal(first, again)
    again[0, 0] = 42.0  # callers cannot corrupt the cache
    assert cached.encode(["a question"])[0, 0] != 42.0
    cached.encode(["b"])
    cached.encode(["c"])  # evicts the least recently used ("a question")
    cached.encode(["a question"])
    assert inner.calls == 4
    cached.encode([f"text {i}" for i in range(20)])  # a build-sized batch is not cached
    cached.clear()
    cached.encode(["b"])
    assert inner.calls == 6


def test_the_query_cache_has_the_configured_size_or_is_off(onnx_settings: Settings) -> None:
    sized = service.load_bot(onnx_settings.model_copy(update={"query_cache": 7}))
    assert isinstance(sized.embedder, CachedEmbedder) and sized.embedder._size == 7
    off = service.load_bot(onnx_settings.model_copy(update={"query_cache": 0}))
    assert isinstance(off.embedder, OnnxEmbedder)


def test_the_server_stops_onnxruntime_spinning_between_questions(onnx_settings: Settings) -> None:
    """Serving lets onnxruntime's threads rest once a run returns (their spinning held a core
    the reply and the client needed); back-to-back embedding keeps the default."""
    served = service.load_bot(onnx_settings.model_copy(update={"query_cache": 0})).embedder
    plain = OnnxEmbedder(current_path(onnx_settings.index_dir).resolve(), onnx_settings.model)

    def spin_stop(embedder: Embedder) -> str:
        options = embedder._session.get_session_options()  # type: ignore[attr-defined]
        return str(options.get_session_config_entry("session.force_spinning_stop"))

    assert spin_stop(served) == "1"
    with pytest.raises(RuntimeError):  # not set: onnxruntime's default (spin)
        spin_stop(plain)
    assert np.array_equal(served.encode(["What is AHSCT?"]), plain.encode(["What is AHSCT?"]))


def test_a_failing_fusion_leaves_the_plain_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onnxruntime.transformers import optimizer

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a node the optimizer did not expect")

    monkeypatch.setattr(optimizer, "optimize_model", broken)
    graph = tmp_path / "model.onnx"
    graph.write_bytes(b"the plain graph")
    config = SimpleNamespace(num_attention_heads=12, hidden_size=384)
    assert embed_module._fuse(graph, config) is False
    assert graph.read_bytes() == b"the plain graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
