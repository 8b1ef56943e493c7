import json
import logging
import os
import time
from pathlib import Path

import pytest

from bot import hashmemo
from bot.hashmemo import MEMO, HashMemo
from bot.knowledge import sha256_file


def _remembered(folder: Path, name: str) -> str | None:
    memo = HashMemo(folder)
    digest = memo.sha256(name)
    memo.save()
    return digest


def _tick() -> None:
    """Let the kernel's coarse file clock move on (a tick is at most 10 ms on Linux)."""
    time.sleep(0.03)


def test_a_hash_is_taken_from_the_memo_while_the_file_is_unchanged(
    tmp_path: Path, hash_reads: list[str], not_racy: None
) -> None:
    (tmp_path / "a.bin").write_bytes(b"vectors")
    assert _remembered(tmp_path, "a.bin") == sha256_file(tmp_path / "a.bin")
    assert HashMemo(tmp_path).sha256("a.bin") == sha256_file(tmp_path / "a.bin")
    assert hash_reads == ["a.bin"]  # the second memo did not read it


def test_a_file_changed_in_any_way_is_read_again(
    tmp_path: Path, hash_reads: list[str], not_racy: None
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"vectors")
    _remembered(tmp_path, "a.bin")
    before = path.stat()
    _tick()
    path.write_bytes(b"vectorz")  # in place, the same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # content time set back
    assert HashMemo(tmp_path).sha256("a.bin") == sha256_file(path)
    _remembered(tmp_path, "a.bin")
    _tick()
    (tmp_path / "new.bin").write_bytes(b"vectorq")
    os.replace(tmp_path / "new.bin", path)  # another file in its place
    assert HashMemo(tmp_path).sha256("a.bin") == sha256_file(path)
    assert hash_reads == ["a.bin", "a.bin", "a.bin", "a.bin"]


def test_a_file_just_written_is_not_remembered(tmp_path: Path, hash_reads: list[str]) -> None:
    (tmp_path / "a.bin").write_bytes(b"vectors")
    _remembered(tmp_path, "a.bin")  # its metadata changed less than RACY_SECONDS ago
    assert not (tmp_path / MEMO).exists()
    HashMemo(tmp_path).sha256("a.bin")
    assert hash_reads == ["a.bin", "a.bin"]


def test_a_missing_file_has_no_hash(tmp_path: Path, not_racy: None) -> None:
    (tmp_path / "a.bin").write_bytes(b"vectors")
    _remembered(tmp_path, "a.bin")
    os.remove(tmp_path / "a.bin")
    assert HashMemo(tmp_path).sha256("a.bin") is None
    (tmp_path / "a.bin").mkdir()
    assert HashMemo(tmp_path).sha256("a.bin") is None


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[]",
        '{"files": []}',
        '{"files": {"a.bin": {"sha256": "x"}}}',
        '{"files": {"a.bin": {"sha256": "x", "identity": [1, 2, 3]}}}',
        '{"files": {"a.bin": {"sha256": "x", "identity": [1, 2, 3, 4, "5"]}}}',
        "[" * 100_000,  # too deep for json: RecursionError
    ],
)
def test_a_damaged_memo_is_ignored(
    tmp_path: Path, hash_reads: list[str], not_racy: None, text: str
) -> None:
    (tmp_path / "a.bin").write_bytes(b"vectors")
    (tmp_path / MEMO).write_text(text)
    assert HashMemo(tmp_path).sha256("a.bin") == sha256_file(tmp_path / "a.bin")
    assert hash_reads == ["a.bin"]


@pytest.mark.parametrize("digest", [123, "abc", "A" * 64, None])
def test_a_remembered_hash_that_is_not_a_sha256_is_ignored(
    tmp_path: Path, hash_reads: list[str], not_racy: None, digest: object
) -> None:
    (tmp_path / "a.bin").write_bytes(b"vectors")
    _remembered(tmp_path, "a.bin")
    memo = json.loads((tmp_path / MEMO).read_text())
    memo["files"]["a.bin"]["sha256"] = digest  # the file's own identity, a hash that is none
    (tmp_path / MEMO).write_text(json.dumps(memo))
    assert HashMemo(tmp_path).sha256("a.bin") == sha256_file(tmp_path / "a.bin")
    assert hash_reads == ["a.bin", "a.bin"]


def test_a_memo_pointing_at_other_bytes_is_not_trusted_for_another_file(
    tmp_path: Path, not_racy: None
) -> None:
    (tmp_path / "a.bin").write_bytes(b"vectors")
    (tmp_path / "b.bin").write_bytes(b"other")
    _remembered(tmp_path, "a.bin")
    memo = json.loads((tmp_path / MEMO).read_text())
    memo["files"]["b.bin"] = memo["files"]["a.bin"]  # a's identity is not b's
    (tmp_path / MEMO).write_text(json.dumps(memo))
    assert HashMemo(tmp_path).sha256("b.bin") == sha256_file(tmp_path / "b.bin")


def test_a_folder_that_cannot_be_written_costs_only_time(
    tmp_path: Path,
    hash_reads: list[str],
    not_racy: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "a.bin").write_bytes(b"vectors")

    class Refusing:
        """The os module as hashmemo sees it, but renaming is refused (other threads unharmed)."""

        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        def replace(self, *args: object) -> None:
            raise PermissionError("read-only file system")

    monkeypatch.setattr(hashmemo, "os", Refusing())
    with caplog.at_level(logging.WARNING, logger="faqbot"):
        assert _remembered(tmp_path, "a.bin") == sha256_file(tmp_path / "a.bin")
    assert "cannot remember the checked hashes (read-only file system)" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]  # no partial memo left
    HashMemo(tmp_path).sha256("a.bin")
    assert hash_reads == ["a.bin", "a.bin"]


def test_a_remembered_hash_never_condemns_a_file(
    tmp_path: Path, hash_reads: list[str], not_racy: None
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"vectors")
    right = _remembered(tmp_path, "a.bin")
    memo = json.loads((tmp_path / MEMO).read_text())
    memo["files"]["a.bin"]["sha256"] = "0" * 64  # the memo itself damaged, the file not
    (tmp_path / MEMO).write_text(json.dumps(memo))
    hash_reads.clear()
    assert HashMemo(tmp_path).matches("a.bin", right)
    assert hash_reads == ["a.bin"]  # read again rather than called changed
    assert not HashMemo(tmp_path).matches("a.bin", "1" * 64)
    assert not HashMemo(tmp_path).matches("missing.bin", right)


def test_the_identity_remembered_is_the_one_from_before_reading(
    tmp_path: Path, not_racy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"vectors")
    first = sha256_file(path)

    def changed_while_hashed(target: Path) -> str:
        _tick()
        target.write_bytes(b"vectorz")  # a writer finishes while the old bytes are hashed
        return first

    monkeypatch.setattr(hashmemo, "sha256_file", changed_while_hashed)
    assert _remembered(tmp_path, "a.bin") == first
    monkeypatch.setattr(hashmemo, "sha256_file", sha256_file)
    assert HashMemo(tmp_path).sha256("a.bin") == sha256_file(path) != first


def test_saves_keep_what_other_memos_saved_meanwhile(
    tmp_path: Path, hash_reads: list[str], not_racy: None
) -> None:
    for name in ("a.bin", "b.bin"):
        (tmp_path / name).write_bytes(name.encode())
    first, second = HashMemo(tmp_path), HashMemo(tmp_path)  # two workers starting at once
    first.sha256("a.bin")
    second.sha256("b.bin")
    first.save()
    second.save()  # must not drop what the first saved
    hash_reads.clear()
    third = HashMemo(tmp_path)
    assert third.sha256("a.bin") == sha256_file(tmp_path / "a.bin")
    assert third.sha256("b.bin") == sha256_file(tmp_path / "b.bin")
    assert hash_reads == []
    assert (tmp_path / MEMO).stat().st_mode & 0o777 == 0o644  # readable by a server's user
