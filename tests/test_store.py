import gc
from pathlib import Path

import pytest

from bot import store as store_module
from bot.knowledge import load_knowledge
from bot.store import Store, build_store


def test_store_round_trips_through_json(knowledge_dir: Path) -> None:
    store = build_store(load_knowledge(knowledge_dir))
    assert Store.from_json(store.to_json()) == store


def test_faq_quote_maps_to_a_span_with_the_same_text(knowledge_dir: Path) -> None:
    store = build_store(load_knowledge(knowledge_dir))
    for entry, row in zip(store.faq, store.faq_spans, strict=True):
        span = store.spans[row]
        body = store.sources[entry.source_id].body
        assert body[span.start : span.end] == body[entry.start : entry.end]


def test_malformed_store_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed store"):
        Store.from_json('{"sources": []}')


@pytest.mark.parametrize("collecting", [True, False])
def test_parsing_pauses_the_garbage_collector_and_puts_it_back(
    knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch, collecting: bool
) -> None:
    text = build_store(load_knowledge(knowledge_dir)).to_json()
    seen = []
    real = store_module._passage_from_dict
    monkeypatch.setattr(
        store_module, "_passage_from_dict", lambda d: seen.append(gc.isenabled()) or real(d)
    )
    (gc.enable if collecting else gc.disable)()
    try:
        Store.from_json(text)
        assert seen and not any(seen)  # off while the objects are made
        assert gc.isenabled() == collecting  # and as it was after, also after an error
        with pytest.raises(ValueError):
            Store.from_json('{"sources": []}')
        assert gc.isenabled() == collecting
    finally:
        gc.enable()
