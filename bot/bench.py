"""Benchmarks we steer by, measured in one run so their ratios are fair on a shared machine.

- embedding one question: sentence-transformers on torch vs the ONNX path;
- ``/api/chat`` over real HTTP against ``faqbot serve``: sequentially (the server's query
  cache off, so every question costs its embedding) and with concurrent clients;
- time from starting ``faqbot serve`` to ``/readyz`` 200, and the server's peak memory;
- a forced index build: seconds, and passages and embedded texts a second.

The sequential HTTP times and both embeddings are taken in ROUNDS interleaved passes over the
same questions: a shared machine's speed drifts over a minute, and a ratio of numbers taken
minutes apart measured the drift as much as the code.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot import service
from bot.api.schemas import CHAT_PATH
from bot.embed import OnnxEmbedder, load_embedder
from bot.evaluate import load_sets
from bot.index import current_path
from bot.loadtest import run_load
from bot.settings import Settings

#: Interleaved passes over the eval questions (see the module docstring).
ROUNDS = 3


def _times(run: Callable[[str], object], questions: list[str]) -> list[float]:
    """Milliseconds of ``run`` for each question, after one warm-up call."""
    run("warm up")
    times = []
    for question in questions:
        started = time.perf_counter()
        run(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p50(times: list[float]) -> float:
    return round(statistics.median(times), 2)


def _pct(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def build(settings: Settings) -> dict[str, float]:
    """A forced build into a scratch folder: the whole thing, ONNX export and check included."""
    with tempfile.TemporaryDirectory() as scratch:
        target = settings.model_copy(update={"index_dir": Path(scratch) / "index"})
        started = time.perf_counter()
        manifest = service.build(target, force=True).manifest
        seconds = time.perf_counter() - started
    counts = manifest["counts"]
    texts = counts["passages"] + counts["spans"] + counts["faq"]
    return {
        "build_s": round(seconds, 2),
        "build_passages_per_s": round(counts["passages"] / seconds, 1),
        "build_texts_per_s": round(texts / seconds, 1),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def server(
    settings: Settings, questions: list[str], clients: int, seconds: float
) -> dict[str, float]:
    """Start ``faqbot serve`` on a built index (query cache off) and measure it over HTTP,
    interleaved with both embeddings of the same questions in this process."""
    onnx = OnnxEmbedder(current_path(settings.index_dir).resolve(), settings.model)
    torch = load_embedder(settings.model)
    port = _free_port()
    env = {
        **os.environ,
        "FAQBOT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "FAQBOT_INDEX_DIR": str(settings.index_dir),
        "FAQBOT_PORT": str(port),
        "FAQBOT_RATE_LIMIT": "0",
        "FAQBOT_QUERY_CACHE": "0",
        "FAQBOT_FEEDBACK_DB": str(Path(tempfile.mkdtemp()) / "feedback.sqlite3"),
    }
    faqbot = Path(sys.executable).with_name("faqbot")
    started = time.perf_counter()
    process = subprocess.Popen([str(faqbot), "serve"], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        ready = _wait_ready(base, process) - started
        times: dict[str, list[float]] = {"http": [], "onnx": [], "torch": []}
        for _ in range(ROUNDS):
            times["http"] += _sequential(base, questions)
            times["onnx"] += _times(lambda q: onnx.encode([q]), questions)
            times["torch"] += _times(lambda q: torch.encode([q]), questions)
            time.sleep(0.5)  # torch's threads spin a while after its last call
        load = run_load(base, questions, clients, seconds).summary()
        peak = _peak_kb(process.pid) / 1024
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "ready_s": round(ready, 2),
        "http_seq_p50_ms": _p50(times["http"]),
        "http_seq_p95_ms": _pct(times["http"], 0.95),
        f"http_{clients}x_p50_ms": load["latency_ms_p50"],
        f"http_{clients}x_p95_ms": load["latency_ms_p95"],
        f"http_{clients}x_rps": load["requests_per_second"],
        f"http_{clients}x_errors": load["errors"],
        "server_peak_mb": round(peak, 1),
        "embed_torch_ms": _p50(times["torch"]),
        "embed_onnx_ms": _p50(times["onnx"]),
    }


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> float:
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError("faqbot serve exited before it was ready")
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return time.perf_counter()
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError("faqbot serve was not ready within 120 s")


class KeepAlive:
    """A minimal HTTP/1.1 client on one keep-alive socket: it sends a request and reads the
    reply by its Content-Length, and nothing more. What the bench should time is the server:
    the standard library's client parses headers with the email package and added ~0.35 ms
    a request of its own here (measured, paired with this one on the same server)."""

    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        self.host = address.netloc
        self.sock = socket.create_connection((address.hostname or "127.0.0.1", address.port or 80))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """Status and body of a JSON POST."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode("latin-1") + body)
        received = b""
        while b"\r\n\r\n" not in received:
            received += self._recv()
        head_bytes, _, reply = received.partition(b"\r\n\r\n")
        status, length = _status_and_length(head_bytes)
        while len(reply) < length:
            reply += self._recv()
        return status, reply[:length]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def _status_and_length(head: bytes) -> tuple[int, int]:
    status_line, *fields = head.split(b"\r\n")
    status = int(status_line.split()[1])
    for field in fields:
        name, _, value = field.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value)
    raise RuntimeError("the reply has no Content-Length")


def _sequential(base: str, questions: list[str]) -> list[float]:
    """Milliseconds for each question, asked once over one keep-alive connection, from sending
    the request to reading the whole reply (see :class:`KeepAlive`)."""
    client = KeepAlive(base)
    bodies = {q: json.dumps({"message": q}).encode() for q in ["warm up", *questions]}

    def ask(question: str) -> None:
        status, _ = client.post(CHAT_PATH, bodies[question])
        if status != 200:
            raise RuntimeError(f"{CHAT_PATH} answered {status} to {question!r}")

    try:
        return _times(ask, questions)
    finally:
        client.close()


def run_bench(settings: Settings, clients: int = 16, seconds: float = 20) -> dict[str, float]:
    """Every measure, in one process run. The index must be built."""
    sets = load_sets(settings.eval_dir) if settings.eval_dir.is_dir() else {}
    questions = list(dict.fromkeys(c.question for s in sets.values() for c in s if not c.history))
    if not questions:
        raise ValueError(f"no eval questions in {settings.eval_dir}")
    result: dict[str, float] = {"questions": len(questions), "rounds": ROUNDS}
    result |= server(settings, questions, clients, seconds)
    result["embed_speedup"] = round(result["embed_torch_ms"] / result["embed_onnx_ms"], 1)
    result["http_p50_over_onnx_embed"] = round(
        result["http_seq_p50_ms"] / result["embed_onnx_ms"], 2
    )
    result |= build(settings)
    result["bench_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


TARGETS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "embed_speedup": ("≥ 4×", lambda v: v >= 4),
    "http_p50_over_onnx_embed": ("≤ 2×", lambda v: v <= 2),
    "ready_s": ("< 3 s", lambda v: v < 3),
}


def markdown(result: dict[str, Any]) -> str:
    """The result as the Markdown table README keeps."""
    rows = ["| measure | value | target | met |", "| --- | --- | --- | --- |"]
    for name, value in result.items():
        target, met = "", ""
        if name in TARGETS:
            target, check = TARGETS[name]
            met = "yes" if check(value) else "**no**"
        rows.append(f"| {name} | {value} | {target} | {met} |")
    return "\n".join(rows)
