"""`faqbot serve` for real: a subprocess on a free port, with the real model, building its
index first because none exists yet (what `make run` does on a fresh clone)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "faqbot serve exited early"
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError("server did not become ready")


def _env(knowledge_dir: Path, tmp_path: Path, port: int) -> dict[str, str]:
    """`faqbot serve` on the tiny knowledge, with everything it writes under tmp_path."""
    return {
        **os.environ,
        "FAQBOT_KNOWLEDGE_DIR": str(knowledge_dir),
        "FAQBOT_INDEX_DIR": str(tmp_path / "index"),
        "FAQBOT_PORT": str(port),
        "FAQBOT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
    }


def _write_canary(knowledge_dir: Path) -> None:
    """One canary question and its target, so a reload has something to check."""
    (knowledge_dir / "eval").mkdir()
    (knowledge_dir / "eval" / "canary.yaml").write_text(
        "cases:\n  - q: When can I go back to work?\n    expect: months of rest\n", encoding="utf-8"
    )
    (knowledge_dir / "eval" / "targets.yaml").write_text(
        "canary:\n  first_quote_accuracy: 1.0\n", encoding="utf-8"
    )


def _three_to_four_months(knowledge_dir: Path) -> None:
    """Change the return-to-work answer in the source and its FAQ quote alike."""
    for name in ("sources/tiny-blog.md", "faq.yaml"):
        path = knowledge_dir / name
        path.write_text(path.read_text().replace("three months", "four months"))


def test_serve_builds_a_missing_index_then_answers(knowledge_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    env = _env(knowledge_dir, tmp_path, port)
    faqbot = Path(sys.executable).with_name("faqbot")
    process = subprocess.Popen([str(faqbot), "serve"], env=env, stderr=subprocess.PIPE)
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        assert ready.json()["counts"]["sources"] == 2
        reply = httpx.post(
            f"http://127.0.0.1:{port}/api/chat",
            json={"message": "When can I go back to work?"},
            timeout=10,
        ).json()
        assert reply["kind"] == "answer" and "three months" in reply["quotes"][0]["text"]
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert b"Building the index: no index has been built yet." in stderr
    assert (tmp_path / "index" / "current" / "manifest.json").exists()


def test_sighup_reloads_a_rebuilt_index_and_logs_are_json_without_questions(
    knowledge_dir: Path, tmp_path: Path
) -> None:
    _write_canary(knowledge_dir)
    port = free_port()
    env = _env(knowledge_dir, tmp_path, port)
    faqbot = Path(sys.executable).with_name("faqbot")
    process = subprocess.Popen([str(faqbot), "serve"], env=env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    unique = "When can I go back to work, asks quokka-5521?"
    try:
        before = _wait_ready(base + "/readyz", process).json()["index_version"]
        assert "three months" in httpx.post(base + "/api/chat", json={"message": unique}).text
        _three_to_four_months(knowledge_dir)
        subprocess.run([str(faqbot), "build"], env=env, check=True, capture_output=True)
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while httpx.get(base + "/readyz").json()["index_version"] == before:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.25)
        reply = httpx.post(base + "/api/chat", json={"message": unique})
        assert "four months" in reply.text
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    assert any(line.get("message") == "reloaded" for line in lines)
    assert any(line.get("route") == "/api/chat" and line.get("kind") == "answer" for line in lines)
    assert b"quokka" not in stderr
    # the only address in the log is the one the server listens on, never a client's
    others = [line for line in lines if "Uvicorn running" not in line["message"]]
    assert not [line for line in others if "127.0.0.1" in json.dumps(line)]


def test_workers_share_the_port_and_each_follows_a_new_build(
    knowledge_dir: Path, tmp_path: Path
) -> None:
    _write_canary(knowledge_dir)
    port = free_port()
    env = _env(knowledge_dir, tmp_path, port) | {"FAQBOT_RELOAD_POLL_SECONDS": "0.5"}
    faqbot = Path(sys.executable).with_name("faqbot")
    command = [str(faqbot), "serve", "--workers", "2"]
    log = tmp_path / "serve.log"
    process = subprocess.Popen(command, env=env, stderr=log.open("wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        before = _wait_ready(base + "/readyz", process).json()["index_version"]
        workers = _children(process.pid)
        assert len(workers) == 2, workers
        _three_to_four_months(knowledge_dir)
        subprocess.run([str(faqbot), "build"], env=env, check=True, capture_output=True)
        deadline = time.monotonic() + 60
        while _count(log, "reloaded") < 2:  # nothing is sent to the server: each worker notices
            assert time.monotonic() < deadline, "the workers did not both reload"
            time.sleep(0.25)
        for _ in range(10):  # fresh connections, whichever worker accepts them
            reply = httpx.post(base + "/api/chat", json={"message": "When can I go back to work?"})
            assert reply.headers["X-Index-Version"] != before and "four months" in reply.text
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert _count(log, "reloaded") == 2
    assert _count(log, "Application startup complete.") == 2


def _count(log: Path, message: str) -> int:
    """JSON log lines in ``log`` with this message."""
    lines = log.read_text(encoding="utf-8").splitlines()
    return sum(json.loads(line).get("message") == message for line in lines if line.startswith("{"))


def _children(pid: int) -> list[int]:
    """Worker processes of ``pid`` (uvicorn's; multiprocessing's resource tracker left out)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
            command = (status.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(pid) and b"spawn_main" in command:
            found.append(int(status.parent.name))
    return found
