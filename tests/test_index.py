import json
import os
import time
from pathlib import Path

import pytest

from bot import builder, hashmemo
from bot.builder import build_index
from bot.index import (
    ARTIFACTS,
    IndexError_,
    LoadedIndex,
    current_path,
    load_index,
    staleness,
)
from bot.knowledge import load_knowledge
from bot.lexical import SAVED_FILES
from bot.qtype import answer_types
from bot.retrieve import Retriever
from bot.spelling import vocabulary
from tests.conftest import FakeEmbedder


def _build(knowledge_dir: Path, index_dir: Path, embedder: FakeEmbedder, force: bool = False):
    knowledge = load_knowledge(knowledge_dir)
    return build_index(index_dir, knowledge, embedder.name, lambda: embedder, force=force)


def _built_and_loaded(knowledge_dir: Path, index_dir: Path, embedder: FakeEmbedder) -> LoadedIndex:
    """A fresh build of the tiny knowledge, loaded as the server loads it."""
    _build(knowledge_dir, index_dir, embedder)
    return load_index(index_dir, embedder.name, 256)


def test_build_writes_artifacts_and_a_complete_manifest(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    result = _build(knowledge_dir, tmp_path / "index", fake_embedder)
    assert result.built
    folder = current_path(tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["artifacts"]) == {
        "passages.faiss",
        "spans.faiss",
        "faq.faiss",
        "store.json",
        "store-bodies.txt",
        "store-passages.npy",
        "store-sentences.npy",
        "store-spans.npy",
        *(f"spans.bm25/{name}" for name in SAVED_FILES),
        "types.npz",
        "vocabulary.txt",
    }
    assert all((folder / name).is_file() for name in manifest["artifacts"])
    assert manifest["model"] == "fake-hash-256" and manifest["dimension"] == 256
    assert manifest["counts"]["sources"] == 2 and manifest["counts"]["faq"] == 2
    assert set(manifest["knowledge"]) == {
        "sources/tiny-blog.md",
        "sources/tiny-news.md",
        "faq.yaml",
        "scope.yaml",
    }
    assert {"faiss-cpu", "numpy", "python", "sentence-transformers"} <= set(manifest["versions"])
    assert manifest["built_at"]


def test_second_build_does_nothing_and_force_rebuilds(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    first = _build(knowledge_dir, tmp_path / "index", fake_embedder)
    calls = fake_embedder.calls
    again = _build(knowledge_dir, tmp_path / "index", fake_embedder)
    assert not again.built and again.reason == "up to date"
    assert fake_embedder.calls == calls  # no embedding work at all
    forced = _build(knowledge_dir, tmp_path / "index", fake_embedder, force=True)
    assert forced.built and forced.manifest["build_id"] != first.manifest["build_id"]
    assert len(list((tmp_path / "index" / "builds").iterdir())) == 1  # old build cleaned up


def test_changed_knowledge_makes_the_index_stale(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    source = knowledge_dir / "sources" / "tiny-news.md"
    source.write_text(source.read_text() + "\nA new paragraph about things.\n")
    hashes = load_knowledge(knowledge_dir).file_hashes
    assert (
        staleness(tmp_path / "index", hashes, fake_embedder.name) == "the knowledge files changed"
    )
    assert (
        staleness(tmp_path / "index", hashes, "other-model") == "the model changed to 'other-model'"
    )
    assert _build(knowledge_dir, tmp_path / "index", fake_embedder).built


def test_a_crash_mid_build_leaves_the_previous_index_whole(
    knowledge_dir: Path,
    tmp_path: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _build(knowledge_dir, tmp_path / "index", fake_embedder)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(builder, "_fsync_folder", crash)
    with pytest.raises(KeyboardInterrupt):
        _build(knowledge_dir, tmp_path / "index", fake_embedder, force=True)
    loaded = load_index(tmp_path / "index", fake_embedder.name, 256)
    assert loaded.manifest["build_id"] == first.manifest["build_id"]
    leftovers = [p.name for p in (tmp_path / "index" / "builds").iterdir()]
    assert leftovers == [first.manifest["build_id"]]


@pytest.mark.parametrize(
    "name",
    [
        "store.json",
        "store-bodies.txt",
        "store-passages.npy",
        "store-spans.npy",
        "spans.bm25/data.csc.index.npy",
        "types.npz",
        "vocabulary.txt",
    ],
)
def test_load_refuses_a_corrupt_artifact(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder, name: str
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    path = current_path(tmp_path / "index") / name
    path.write_bytes(path.read_bytes()[:-1] + b"x")  # one byte: still the right size
    with pytest.raises(IndexError_, match=rf"{name} does not match its SHA-256"):
        load_index(tmp_path / "index", fake_embedder.name, 256)


def test_of_several_changed_artifacts_the_first_listed_is_reported(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    folder = current_path(tmp_path / "index")
    for name in ("vocabulary.txt", "store-spans.npy"):  # hashed by two threads
        (folder / name).write_bytes((folder / name).read_bytes()[:-1] + b"x")
    with pytest.raises(IndexError_, match=r"store-spans\.npy does not match"):
        load_index(tmp_path / "index", fake_embedder.name, 256)


def test_a_changed_store_is_reported_as_changed_whatever_its_parse_raises(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    store = current_path(tmp_path / "index") / "store.json"
    store.write_text("[" * 100_000)  # json raises RecursionError, not ValueError
    with pytest.raises(IndexError_, match=r"store\.json does not match its SHA-256"):
        load_index(tmp_path / "index", fake_embedder.name, 256)
    _build(knowledge_dir, tmp_path / "again", fake_embedder)
    (current_path(tmp_path / "again") / "store-sentences.npy").write_bytes(b"")  # cannot map
    with pytest.raises(IndexError_, match=r"store-sentences\.npy does not match its SHA-256"):
        load_index(tmp_path / "again", fake_embedder.name, 256)


def test_an_artifact_that_cannot_be_hashed_is_an_index_error(
    knowledge_dir: Path,
    tmp_path: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)

    def unreadable(*args: object) -> None:
        raise PermissionError("spans.faiss: permission denied")

    monkeypatch.setattr(hashmemo, "sha256_file", unreadable)
    with pytest.raises(IndexError_, match=r"cannot read index at .*permission denied"):
        load_index(tmp_path / "index", fake_embedder.name, 256)


def test_load_refuses_a_truncated_or_missing_artifact(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    spans = current_path(tmp_path / "index") / "spans.faiss"
    with spans.open("r+b") as handle:
        handle.truncate(100)
    with pytest.raises(IndexError_, match=r"spans\.faiss"):
        load_index(tmp_path / "index", fake_embedder.name, 256)
    os.remove(spans)
    with pytest.raises(IndexError_, match="missing"):
        load_index(tmp_path / "index", fake_embedder.name, 256)


def test_the_saved_bm25_and_types_cover_every_span(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    loaded = _built_and_loaded(knowledge_dir, tmp_path / "index", fake_embedder)
    store = loaded.store
    quoted = [store.body(store.passages[s.passage_index])[s.start : s.end] for s in store.spans]
    assert len(loaded.lexical) == len(quoted) and loaded.types
    for name, mask in loaded.types.items():
        assert mask.tolist() == [name in answer_types(text) for text in quoted]


def test_the_saved_vocabulary_is_every_word_of_the_bodies_faq_and_headings(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    loaded = _built_and_loaded(knowledge_dir, tmp_path / "index", fake_embedder)
    store = loaded.store
    texts = [source.body for source in store.sources.values()]
    texts += [q for entry in store.faq for q in entry.phrasings]
    texts += [h for passage in store.passages for h in passage.headings]
    assert loaded.vocabulary == vocabulary(texts)
    assert {"transplant", "back", "relapsing"} <= set(loaded.vocabulary)  # "back": FAQ only
    # what the server spells questions against is what the build saved, not the store's text
    loaded.vocabulary = ["transplant", "zebras"]
    speller = Retriever(loaded, fake_embedder).speller
    assert speller.correct("tranplant recovary zebas") == "transplant recovary zebras"


def test_load_refuses_wrong_model_dimension_or_counts(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    with pytest.raises(IndexError_, match=r"built with model 'fake-hash-256'"):
        load_index(tmp_path / "index", "all-MiniLM-L6-v2")
    with pytest.raises(IndexError_, match="dimension 256 is not 384"):
        load_index(tmp_path / "index", fake_embedder.name, 384)
    manifest_path = current_path(tmp_path / "index") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["counts"]["passages"] += 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexError_, match="passages: manifest says"):
        load_index(tmp_path / "index", fake_embedder.name, 256)


def test_no_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match="run 'faqbot build'"):
        load_index(tmp_path / "empty", "any")


def test_a_build_over_the_threshold_records_and_serves_hnsw(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    knowledge = load_knowledge(knowledge_dir)
    exact = build_index(tmp_path / "flat", knowledge, fake_embedder.name, lambda: fake_embedder)
    graph = build_index(
        tmp_path / "hnsw", knowledge, fake_embedder.name, lambda: fake_embedder, exact_max=0
    )
    assert {s["type"] for s in exact.manifest["vector_index"].values()} == {"flat"}
    specs = graph.manifest["vector_index"]
    assert specs["passages"]["type"] == specs["faq"]["type"] == "hnsw"
    # found through the passages' search: fewer passages than it puts forward, so all of them
    assert specs["spans"] == {
        "type": "flat",
        "searched": False,
        "passages": 200,
        "recall_at_10": 1.0,
    }
    flat_index = load_index(tmp_path / "flat", fake_embedder.name)
    hnsw_index = load_index(tmp_path / "hnsw", fake_embedder.name)
    assert hnsw_index.vectors["spans"].spec == graph.manifest["vector_index"]["spans"]
    query = fake_embedder.encode(["stem cell transplant results"])[0]
    for kind in ("passages", "spans", "faq"):
        # a tiny corpus: the graph reaches every vector, so it must agree with exact search
        every = hnsw_index.vectors[kind].ntotal
        found = dict(hnsw_index.search(kind, query, every))
        assert len(found) == every
        assert found == pytest.approx(dict(flat_index.search(kind, query, every)))
    assert hnsw_index.score("spans", query, [0, 1]) == pytest.approx(
        flat_index.score("spans", query, [0, 1])
    )


def test_load_refuses_an_index_of_another_type_than_the_manifest_says(
    knowledge_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    folder = current_path(tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["vector_index"]["spans"] = {"type": "hnsw", "M": 32, "ef_search": 64}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexError_, match="IndexFlatIP"):
        load_index(tmp_path / "index", fake_embedder.name)


def test_a_build_showing_progress_says_each_step_on_stderr(
    knowledge_dir: Path,
    tmp_path: Path,
    fake_embedder: FakeEmbedder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A big build runs for hours: each step names itself and its size; none is silent."""
    knowledge = load_knowledge(knowledge_dir)
    build_index(tmp_path / "quiet", knowledge, fake_embedder.name, lambda: fake_embedder)
    assert capsys.readouterr().err == ""
    build_index(
        tmp_path / "shown", knowledge, fake_embedder.name, lambda: fake_embedder, progress=True
    )
    counts = load_index(tmp_path / "shown", fake_embedder.name).manifest["counts"]
    said = capsys.readouterr().err.splitlines()
    texts = counts["passages"] + counts["spans"] + counts["faq"]
    assert said[0].startswith(f"Embedding {texts} texts ({counts['passages']} passages, ")
    assert f"Indexing the vectors of {counts['spans']} spans" in said
    assert f"Indexing the vectors of {counts['faq']} FAQ phrasings" in said
    assert f"Indexing the words of {counts['spans']} spans (BM25)" in said
    assert said[-1] == f"Indexing the words of {counts['spans']} spans (BM25)"  # no export:
    # the fake embedder cannot be exported (a real model's check shows a bar: test_onnx)


def test_a_reload_takes_the_checked_hashes_yet_refuses_a_file_changed_since(
    knowledge_dir: Path,
    tmp_path: Path,
    fake_embedder: FakeEmbedder,
    hash_reads: list[str],
    not_racy: None,  # the build's files are seconds old
) -> None:
    _build(knowledge_dir, tmp_path / "index", fake_embedder)
    reads = hash_reads
    load_index(tmp_path / "index", fake_embedder.name, 256)
    assert sorted(reads) == sorted(Path(name).name for name in ARTIFACTS)
    reads.clear()
    load_index(tmp_path / "index", fake_embedder.name, 256)
    assert reads == []  # every artifact's hash remembered
    time.sleep(0.03)  # past the kernel's coarse file clock tick
    path = current_path(tmp_path / "index") / "spans.faiss"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit, the same size
    with pytest.raises(IndexError_, match=r"spans\.faiss does not match its SHA-256"):
        load_index(tmp_path / "index", fake_embedder.name, 256)
    assert reads == ["spans.faiss"]
