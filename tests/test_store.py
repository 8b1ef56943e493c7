import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    for name in ("passages", "sentences", "spans"):  # what Store.load maps, and nothing else
        saved = np.load(folder / f"store-{name}.npy")
        assert saved.dtype == np.int64 and saved.ndim == 2 and saved.flags.c_contiguous
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
    # the bodies too: each start reads only where each lies, and workers share the pages
    assert str(tmp_path / "store-bodies.txt") in Path("/proc/self/maps").read_text()


def test_faq_quote_maps_to_a_span_with_the_same_text(knowledge_dir: Path) -> None:
    store = build_store(load_knowledge(knowledge_dir))
    for entry, row in zip(store.faq, store.faq_spans, strict=True):
        span = store.spans[row]
        body = store.sources[entry.source_id].body
        assert body[span.start : span.end] == body[entry.start : entry.end]


def _saved(knowledge_dir: Path, folder: Path) -> dict[str, Any]:
    build_store(load_knowledge(knowledge_dir)).save(folder)
    data: dict[str, Any] = json.loads((folder / "store.json").read_text())
    return data


Changer = Callable[[dict[str, Any], Path], object]


def _array(name: str, change: Callable[[np.ndarray], np.ndarray | None]) -> Changer:
    """A change to one saved array: ``change`` edits a copy in place or returns another."""

    def edit(data: dict[str, Any], folder: Path) -> None:
        path = folder / f"store-{name}.npy"
        array = np.load(path).copy()
        np.save(path, array if (changed := change(array)) is None else changed)

    return edit


def _set(name: str, row: int, column: int, value: int) -> Changer:
    return _array(name, lambda a: a.__setitem__((row, column), value))


def _no_sources(data: dict[str, Any], folder: Path) -> None:
    data.update(sources=[])
    (folder / "store-bodies.txt").write_bytes(b"")  # no bodies either: whole, but no sources


CHANGES: list[tuple[Changer, str]] = [
    (lambda data, folder: data.pop("faq"), "'faq'"),
    (lambda data, folder: data["passages"].pop("ids"), "'ids'"),
    (lambda data, folder: data.update(faq_spans=[]), "FAQ entries, 0 quote spans"),
    (lambda data, folder: data.update(faq_spans=[10**6] * len(data["faq"])), "FAQ quote"),
    (lambda data, folder: data.update(faq_spans=[-1] * len(data["faq"])), "FAQ quote"),
    (lambda data, folder: _no_sources(data, folder), "a passage's source"),
    (lambda data, folder: data["sources"][0].pop("text"), "'text'"),
    (lambda data, folder: data["sources"][0].update(text=[0, 10**9, 5]), "outside the text"),
    (lambda data, folder: (folder / "store-bodies.txt").write_bytes(b""), "outside the text"),
    (lambda data, folder: data["sources"][1].update(id=data["sources"][0]["id"]), "twice"),
    # moved by a byte, or bytes left over: every quote would be cut askew or from elsewhere
    (lambda data, folder: data["sources"][0]["text"].__setitem__(0, 1), "one after another"),
    (lambda data, folder: (folder / "store-bodies.txt").open("ab").write(b"x"), "one after"),
    (lambda data, folder: data["sources"][0].update(text=["0", 10, 10]), "not where its bytes"),
    (lambda data, folder: data["sources"][0].update(text=[0.5, 10, 10]), "not where its bytes"),
    (lambda data, folder: data["passages"]["ids"].pop(), "ids for"),
    (lambda data, folder: data["passages"].update(sources=[]), "column 0 outside"),
    (lambda data, folder: data["passages"].update(headings=[]), "column 1 outside"),
    (_set("spans", 0, 0, 23), "a span's passage"),  # 23 passages: rows 0..22
    (_set("spans", 0, 0, -1), "a span's passage"),
    (_array("sentences", lambda a: a[:1]), "column 4 outside"),
    (_array("spans", lambda a: a[0]), "not int64 rows"),
    (_array("spans", lambda a: a.astype(np.float64)), "holds float64"),
    (_array("spans", np.asfortranarray), "not int64 rows"),
    (_set("passages", 0, 3, 10**7), "a passage lies outside"),  # its end, past the body
    (_set("passages", 0, 2, -1), "a passage lies outside"),
    (_set("sentences", 0, 1, 10**7), "a sentence lies outside"),
    (_set("sentences", 0, 0, -1), "a sentence lies outside"),
    (_set("spans", 0, 3, -1), "a span lies outside"),  # its start, before its passage's
    (_set("spans", 0, 4, 10**7), "a span lies outside"),
    (_set("spans", 0, 1, -1), "a span lies outside"),  # its first sentence
    (_set("spans", 0, 2, 99), "a span lies outside"),  # its last, past its passage's
    (_array("spans", lambda a: a.__setitem__((0, 1), a[0, 2] + 1)), "a span lies outside"),
]


@pytest.mark.parametrize(("change", "reason"), CHANGES)
def test_malformed_store_is_a_value_error_naming_the_fault(
    knowledge_dir: Path, tmp_path: Path, change: Changer, reason: str
) -> None:
    data = _saved(knowledge_dir, tmp_path)
    Store.load(tmp_path)  # as saved: whole
    change(data, tmp_path)
    (tmp_path / "store.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="malformed store") as raised:
        Store.load(tmp_path)
    assert reason in str(raised.value)


def test_a_missing_array_is_an_os_error(knowledge_dir: Path, tmp_path: Path) -> None:
    _saved(knowledge_dir, tmp_path)
    (tmp_path / "store-spans.npy").unlink()
    with pytest.raises(OSError):
        Store.load(tmp_path)
