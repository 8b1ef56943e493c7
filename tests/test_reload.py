"""Live reload: a new index serves only after its canary questions pass; a bad one never does;
under load no request fails and every reply comes wholly from one index version. Also: a build
killed halfway leaves the serving index whole."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot import service
from bot.api import create_app
from bot.index import current_path, load_index
from bot.settings import Settings
from tests.conftest import ROOT, FakeEmbedder, serving

TOKEN = "reload-test-token-01234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WORK = {"message": "When can I go back to work?"}
CANARIES = """cases:
  - q: When can I go back to work?
    expect: months of rest
  - q: hello
    expect: smalltalk
"""


@pytest.fixture
def reloadable(settings: Settings, knowledge_dir: Path, fake_embedder: FakeEmbedder) -> Settings:
    """The tiny knowledge with canary questions and targets, built once, staff token on."""
    (knowledge_dir / "eval").mkdir()
    (knowledge_dir / "eval" / "canary.yaml").write_text(CANARIES, encoding="utf-8")
    (knowledge_dir / "eval" / "targets.yaml").write_text(
        "canary:\n  first_quote_accuracy: 1.0\n  smalltalk_accuracy: 1.0\n", encoding="utf-8"
    )
    service.build(settings, embedder=fake_embedder)
    return settings.model_copy(update={"staff_token": SecretStr(TOKEN), "rate_limit": 0})


def _republish(settings: Settings, embedder: FakeEmbedder, old: str, new: str) -> None:
    """Edit the blog source and its FAQ quote alike, then build and publish the new index."""
    for path in (
        settings.knowledge_dir / "sources" / "tiny-blog.md",
        settings.knowledge_dir / "faq.yaml",
    ):
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert service.build(settings, embedder=embedder).built


@pytest.fixture
def client(reloadable: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    """The app over the reloadable index, started (lifespan run)."""
    with TestClient(create_app(reloadable, fake_embedder)) as test_client:
        yield test_client


def _version(client: TestClient | httpx.Client) -> str:
    return str(client.get("/readyz").json()["index_version"])


def test_reload_serves_a_new_index_that_passes_its_canaries(
    client: TestClient, reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    before = _version(client)
    _republish(reloadable, fake_embedder, "three months", "four months")
    assert "three months" in client.post("/api/chat", json=WORK).text  # not yet reloaded
    done = client.post("/admin/reload", headers=AUTH)
    assert done.status_code == 200, done.text
    assert done.json()["previous"] == before and done.json()["index_version"] != before
    reply = client.post("/api/chat", json=WORK)
    assert "four months" in reply.text
    assert reply.headers["x-index-version"] == _version(client) == done.json()["index_version"]


def test_an_index_handed_to_the_app_serves_first_and_a_reload_loads_afresh(
    reloadable: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `faqbot serve` does: the index it loaded to check is served, not loaded again."""
    checked = load_index(reloadable.index_dir, reloadable.model)
    loads: list[object] = []
    monkeypatch.setattr(service, "load_index", lambda *a: loads.append(a) or load_index(*a))
    with TestClient(create_app(reloadable, fake_embedder, index=checked)) as client:
        assert client.app.state.bot.index is checked and loads == []  # type: ignore[attr-defined]
        assert "three months" in client.post("/api/chat", json=WORK).text
        _republish(reloadable, fake_embedder, "three months", "four months")
        assert client.post("/admin/reload", headers=AUTH).status_code == 200
        assert len(loads) == 1 and client.app.state.bot.index is not checked  # type: ignore[attr-defined]
        assert "four months" in client.post("/api/chat", json=WORK).text


def test_the_handed_over_index_is_freed_once_a_reload_replaces_it(
    reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    checked = load_index(reloadable.index_dir, reloadable.model)
    first = weakref.ref(checked)
    app = create_app(reloadable, fake_embedder, index=checked)
    del checked
    with TestClient(app) as client:
        _republish(reloadable, fake_embedder, "three months", "four months")
        assert client.post("/admin/reload", headers=AUTH).status_code == 200
        gc.collect()
        assert first() is None, "something still holds the first index"


def test_reload_needs_the_staff_token(reloadable: Settings, fake_embedder: FakeEmbedder) -> None:
    with TestClient(create_app(reloadable, fake_embedder)) as client:
        assert client.post("/admin/reload").status_code == 401
    off = reloadable.model_copy(update={"staff_token": None})
    with TestClient(create_app(off, fake_embedder)) as client:
        assert client.post("/admin/reload", headers=AUTH).status_code == 404


def test_a_corrupt_new_index_is_refused_and_the_old_one_keeps_serving(
    client: TestClient, reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    before = _version(client)
    _republish(reloadable, fake_embedder, "three months", "four months")
    store = current_path(reloadable.index_dir) / "store.json"
    store.write_bytes(store.read_bytes()[:-100])  # truncated
    refused = client.post("/admin/reload", headers=AUTH)
    assert refused.status_code == 409
    assert "SHA-256" in refused.json()["error"] and before in refused.json()["error"]
    reply = client.post("/api/chat", json=WORK)
    assert "three months" in reply.text and reply.headers["x-index-version"] == before
    assert _version(client) == before


def test_a_new_index_that_fails_its_canaries_is_refused(
    client: TestClient, reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    before = _version(client)
    _republish(reloadable, fake_embedder, "after three months of rest", "when ready")
    refused = client.post("/admin/reload", headers=AUTH)
    assert refused.status_code == 409
    assert "canary questions failed: canary first_quote_accuracy" in refused.json()["error"]
    assert "three months" in client.post("/api/chat", json=WORK).text
    assert _version(client) == before


def test_an_unreadable_eval_file_refuses_the_reload_and_keeps_serving(
    client: TestClient, reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    before = _version(client)
    _republish(reloadable, fake_embedder, "three months", "four months")
    (reloadable.eval_dir / "targets.yaml").write_text("questions: [unclosed", encoding="utf-8")
    refused = client.post("/admin/reload", headers=AUTH)
    assert refused.status_code == 409 and "Reload refused" in refused.json()["error"]
    assert _version(client) == before


def test_reload_without_canaries_is_refused(
    settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    service.build(settings, embedder=fake_embedder)
    configured = settings.model_copy(update={"staff_token": SecretStr(TOKEN)})
    with TestClient(create_app(configured, fake_embedder)) as client:
        refused = client.post("/admin/reload", headers=AUTH)
        assert refused.status_code == 409 and "no eval cases" in refused.json()["error"]


@pytest.fixture
def live(reloadable: Settings, fake_embedder: FakeEmbedder) -> Iterator[str]:
    """A real uvicorn server in a thread, so requests truly overlap a reload."""
    with serving(create_app(reloadable, fake_embedder)) as url:
        yield url


def test_under_load_a_reload_fails_no_request_and_mixes_no_versions(
    live: str, reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    said: dict[str, str] = {}  # index version → the recovery time its knowledge says
    with httpx.Client(base_url=live, timeout=10) as admin:
        said[_version(admin)] = "three"
    results: list[tuple[int, str, str]] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=live, timeout=10) as client:
            while not stop.is_set():
                response = client.post("/api/chat", json=WORK)
                version = response.headers.get("x-index-version", "")
                results.append((response.status_code, version, response.text))

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        with httpx.Client(base_url=live, timeout=30) as admin:
            for old, new in [("three", "four"), ("four", "three"), ("three", "four")]:
                time.sleep(0.3)
                _republish(reloadable, fake_embedder, f"{old} months", f"{new} months")
                done = admin.post("/admin/reload", headers=AUTH)
                assert done.status_code == 200, done.text
                said[done.json()["index_version"]] = new
            time.sleep(0.3)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    assert len(results) > 50 and {status for status, _, _ in results} == {200}
    assert {version for _, version, _ in results} == set(said)  # every version answered
    for _, version, text in results:
        assert f"{said[version]} months" in text  # the reply is wholly from its version


SLOW_BUILD = """
import sys, time
from pathlib import Path
from bot import service
from bot.settings import Settings
from tests.conftest import FakeEmbedder

class Slow(FakeEmbedder):
    def encode(self, texts, progress=False):
        print("embedding", flush=True)
        time.sleep(30)
        return super().encode(texts, progress)

settings = Settings(knowledge_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]),
                    model=FakeEmbedder.name)
service.build(settings, embedder=Slow(), force=True)
"""


def test_a_build_killed_halfway_leaves_the_serving_index_whole(
    reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    before = load_index(reloadable.index_dir, FakeEmbedder.name).manifest["build_id"]
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOW_BUILD,
            str(reloadable.knowledge_dir),
            str(reloadable.index_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdout.readline() == b"embedding\n"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    after = load_index(reloadable.index_dir, FakeEmbedder.name)  # verifies every hash
    assert after.manifest["build_id"] == before
    # the lock the killed build held does not block the next one
    assert service.build(reloadable, embedder=fake_embedder, force=True).built


def _wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_with_polling_a_published_build_is_served_without_a_request(
    reloadable: Settings, fake_embedder: FakeEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    polling = reloadable.model_copy(update={"reload_poll_seconds": 0.1})
    with TestClient(create_app(polling, fake_embedder)) as client:
        before = _version(client)
        _republish(polling, fake_embedder, "three months", "four months")
        _wait_for(lambda: _version(client) != before)
        assert "four months" in client.post("/api/chat", json=WORK).text
        # a build failing its canaries is refused once, then left alone until the next one
        good = _version(client)
        _republish(polling, fake_embedder, "after four months of rest", "when ready")
        time.sleep(1.0)  # about ten polls
        assert _version(client) == good
        refusals = [r for r in caplog.records if r.getMessage().startswith("reload refused")]
        assert len(refusals) == 1
        assert "four months" in client.post("/api/chat", json=WORK).text


def test_without_polling_a_published_build_waits_for_a_reload(
    client: TestClient, reloadable: Settings, fake_embedder: FakeEmbedder
) -> None:
    assert reloadable.reload_poll_seconds == 0
    before = _version(client)
    _republish(reloadable, fake_embedder, "three months", "four months")
    time.sleep(0.5)
    assert _version(client) == before
