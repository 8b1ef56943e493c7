import json
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import load_knowledge
from bot.passages import make_spans
from bot.store import FILES, Store, build_store


def test_store_round_trips_through_its_files(knowledge_dir: Path, tmp_path: Path) -> None:
    knowledge = load_knowledge(knowledge_dir)
    store = build_store(knowledge)
    folder = tmp_path / "index"
    folder.mkdir()
    store.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    loaded = Store.load(folder)
    assert loaded == store
    # the very passages and spans the knowledge was cut into, each quote the same text
    assert tuple(loaded.passages) == knowledge.passages
    bodies = {s.id: s.body for s in knowledge.sources}
    spans = make_spans(list(knowledge.passages), bodies)
    assert list(loaded.spans)[: len(spans)] == spans
    assert [loaded.quote(s) for s in loaded.spans] == [store.quote(s) for s in store.spans]
    # saving is deterministic
    again = tmp_path / "again"
    again.mkdir()
    loaded.save(again)
    assert all((again / name).read_bytes() == (folder / name).read_bytes() for name in FILES)


def test_loaded_arrays_are_mapped_read_only(knowledge_dir: Path, tmp_path: Path) -> None:
    build_store(load_knowledge(knowledge_dir)).save(tmp_path)
    loaded = Store.load(tmp_path)
    for rows in (loaded.spans.rows, loaded.passages.rows, loaded.passages.sentences):
        assert isinstance(rows.base, np.memmap) and not rows.flags.writeable
    assert not loaded.span_passages.flags.writeable


def test_faq_quote_maps_to_a_span_with_the_same_text(knowledge_dir: Path) -> None:
    store = build_store(load_knowledge(knowledge_dir))
    for entry, row in zip(store.faq, store.faq_spans, strict=True):
        span = store.spans[row]
        body = store.sources[entry.source_id].body
        assert body[span.start : span.end] == body[entry.start : entry.end]


def _saved(knowledge_dir: Path, folder: Path) -> dict[str, object]:
    build_store(load_knowledge(knowledge_dir)).save(folder)
    data: dict[str, object] = json.loads((folder / "store.json").read_text())
    return data


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda data, folder: data.pop("faq"), "'faq'"),
        (lambda data, folder: data["passages"].pop("ids"), "'ids'"),
        (lambda data, folder: data.update(faq_spans=[]), "FAQ entries, 0 quote spans"),
        (lambda data, folder: data.update(faq_spans=[10**6] * len(data["faq"])), "FAQ quote"),
        (lambda data, folder: data.update(sources=[]), "a passage's source"),
        (lambda data, folder: data["passages"]["ids"].pop(), "ids for"),
        (lambda data, folder: data["passages"].update(sources=[]), "column 0 outside"),
        (lambda data, folder: data["passages"].update(headings=[]), "column 1 outside"),
        (
            lambda data, folder: np.save(folder / "store-spans.npy", np.array([[999, 0, 0, 0, 1]])),
            "a span's passage",
        ),
        (
            lambda data, folder: np.save(folder / "store-sentences.npy", np.zeros((1, 2))),
            "column 4 outside",
        ),
        (lambda data, folder: np.save(folder / "store-spans.npy", np.zeros(5)), "rows of 5"),
    ],
)
def test_malformed_store_is_a_value_error_naming_the_fault(
    knowledge_dir: Path, tmp_path: Path, change: object, reason: str
) -> None:
    data = _saved(knowledge_dir, tmp_path)
    change(data, tmp_path)  # type: ignore[operator]
    (tmp_path / "store.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="malformed store") as raised:
        Store.load(tmp_path)
    assert reason in str(raised.value)


def test_a_missing_array_is_an_os_error(knowledge_dir: Path, tmp_path: Path) -> None:
    _saved(knowledge_dir, tmp_path)
    (tmp_path / "store-spans.npy").unlink()
    with pytest.raises(OSError):
        Store.load(tmp_path)
