"""Shared fixtures: a deterministic fake embedder and a tiny knowledge folder.

The fake embedder hashes words into a small vector, so texts that share words are similar and
everything runs in milliseconds without the real model. Tests that need real semantics (the
eval, the HTTP integration) use the packaged model instead and say so.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import hashmemo
from bot import service as real_service
from bot.embed import Embedder, Vectors, load_embedder
from bot.knowledge import sha256_file
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DIM = 256


class FakeEmbedder:
    """Bag of hashed, lower-cased words; unit length; same text, same vector, every run."""

    name = "fake-hash-256"
    dimension = DIM

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: list[str], progress: bool = False) -> Vectors:
        self.calls += 1
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM
                out[row, bucket] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


TINY_SOURCE_A = """---
id: tiny-news
title: "A Tiny News Report"
publisher: null
url: null
published: null
reviewed: 2026-11-21
cites: "Doe J, et al. A study of things. J Things 2023."
audience: public
---
The study followed 50 patients for ten years. Most patients stayed well. Dr. Smith led the work.

Oranges are rich in vitamin C. Apples keep doctors away.
"""

TINY_SOURCE_B = """---
id: tiny-blog
title: "A Tiny Blog Post"
publisher: Example Clinic
url: https://example.org/blog
published: 2024-05-01
reviewed: 2026-11-21
audience: public
---
Intro paragraph about transplant care and recovery at home.

## Who can have it?

The treatment is offered in specific cases:

- Patients under fifty years of age.
- Patients with active relapsing disease.

## How long is recovery?

Most people return to work after three months of rest.
"""

TINY_FAQ = """- id: recovery-time
  question: How long does recovery take?
  alternates: ["When can I go back to work?"]
  source: tiny-blog
  quote: Most people return to work after three months of rest.
"""

TINY_SCOPE = """other_conditions:
  - autism
practical_matters:
  - cost
"""


def write_knowledge(folder: Path) -> Path:
    """Write the tiny knowledge folder and return it."""
    (folder / "sources").mkdir(parents=True, exist_ok=True)
    (folder / "sources" / "tiny-news.md").write_text(TINY_SOURCE_A, encoding="utf-8")
    (folder / "sources" / "tiny-blog.md").write_text(TINY_SOURCE_B, encoding="utf-8")
    (folder / "faq.yaml").write_text(TINY_FAQ, encoding="utf-8")
    (folder / "scope.yaml").write_text(TINY_SCOPE, encoding="utf-8")
    shutil.copy(ROOT / "knowledge" / "safety.yaml", folder / "safety.yaml")  # the real rules
    return folder


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded offline once per test session."""
    return load_embedder(Settings().model)


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Settings:
    """The real knowledge, built once per session with the real model (ONNX export too)."""
    folder = tmp_path_factory.mktemp("real")
    settings = Settings(
        knowledge_dir=ROOT / "knowledge",
        index_dir=folder / "index",
        feedback_db=folder / "feedback.sqlite3",
    )
    real_service.build(settings, embedder=real_embedder)
    return settings


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    """A fresh copy of the tiny knowledge folder."""
    return write_knowledge(tmp_path / "knowledge")


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    """The deterministic stand-in for the real model."""
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path, knowledge_dir: Path) -> Settings:
    """Settings pointing at the tiny knowledge and a private index folder.

    ``min_score`` is the fake embedder's own: word-overlap cosines run lower than the model's.
    """
    return Settings(
        knowledge_dir=knowledge_dir,
        index_dir=tmp_path / "index",
        model=FakeEmbedder.name,
        min_score=0.2,
        feedback_db=tmp_path / "feedback.sqlite3",
    )


@pytest.fixture
def real_knowledge(tmp_path: Path) -> Iterator[Path]:
    """A copy of the repository's real knowledge folder, safe to modify."""
    target = tmp_path / "real-knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    yield target


@pytest.fixture
def built(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    """Settings whose index has been built with the fake embedder."""
    from bot import service

    service.build(settings, embedder=fake_embedder)
    return settings


@pytest.fixture
def bot(built: Settings, fake_embedder: FakeEmbedder):  # type: ignore[no-untyped-def]
    """A loaded bot over the tiny knowledge, answering with the fake embedder."""
    from bot import service

    return service.load_bot(built, fake_embedder)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def hash_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the hash memo hashes from their bytes (bot.hashmemo), in order."""
    seen: list[str] = []

    def counted(path: Path) -> str:
        seen.append(path.name)
        return sha256_file(path)

    monkeypatch.setattr(hashmemo, "sha256_file", counted)
    return seen


@pytest.fixture
def not_racy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files the test has just written may have their hashes remembered at once."""
    monkeypatch.setattr(hashmemo, "RACY_SECONDS", 0.0)
