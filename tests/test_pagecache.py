import os
from pathlib import Path

import pytest

from bot import pagecache
from bot.pagecache import CHUNK, prefetch


def _advised(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    calls: list[tuple[int, int, int]] = []
    real = os.posix_fadvise

    def noting(handle: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        real(handle, offset, length, advice)

    monkeypatch.setattr(pagecache.os, "posix_fadvise", noting)
    return calls


@pytest.mark.parametrize("size", [1, CHUNK - 1, CHUNK, 3 * CHUNK + 17])
def test_every_byte_is_asked_for_in_windows_the_kernel_reads_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    path = tmp_path / "mapped.bin"
    path.write_bytes(b"\0" * size)
    calls = _advised(monkeypatch)
    prefetch(path)
    assert {advice for _, _, advice in calls} == {os.POSIX_FADV_WILLNEED}
    assert all(0 < length <= CHUNK for _, length, _ in calls)
    # the windows follow one another from the first byte to the last, none past the end
    ends = [offset + length for offset, length, _ in calls]
    assert [offset for offset, _, _ in calls] == [0, *ends[:-1]]
    assert ends[-1] == size


def test_what_cannot_be_read_ahead_is_left_to_its_real_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _advised(monkeypatch)
    prefetch(tmp_path / "missing.faiss")  # the read after it reports the missing file
    prefetch(tmp_path)  # a folder: nothing to advise about, no error either
    (tmp_path / "empty.bin").write_bytes(b"")
    prefetch(tmp_path / "empty.bin")
    os.mkfifo(tmp_path / "pipe")
    prefetch(tmp_path / "pipe")  # returns at once: no writer is waited for
    assert calls == []


def test_a_system_without_the_advice_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mapped.bin"
    path.write_bytes(b"\0" * 100)
    monkeypatch.delattr(pagecache.os, "posix_fadvise")  # as on macOS
    prefetch(path)
