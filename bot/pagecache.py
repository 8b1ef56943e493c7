"""Having the kernel read a file into the page cache before page faults read it piecemeal.

An index's large files are memory-mapped (:mod:`bot.vectors`). From a cold page cache (after a
reboot, or once other work has pushed them out) a mapped file is read a few pages per fault:
faiss copying the HNSW graph of a million passages out of its mapped file took 3.7-3.9 s that
way, and each of the first questions then took 1.6-2.2 s while its search faulted the
passages' vectors in. Asking for the whole file first with ``POSIX_FADV_WILLNEED`` (0.22-0.34 s
for its 1.3 GB here) took the read to 0.06-0.09 s and those questions to 0.24-0.68 s.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: How much each request asks for. The kernel reads at most the larger of its read-ahead window
#: (128 KB by default; 8 MB on this project's machine) and the device's largest request per
#: call and skips the rest, so asking in windows of the common default has every byte read.
CHUNK = 128 << 10


def prefetch(path: Path) -> None:
    """Ask the kernel to read all of ``path`` into the page cache. It only saves time later,
    so a file that cannot be opened or advised about is left for its real read to report, and
    where the system has no such advice (macOS) nothing is done."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        # not blocking: a FIFO would wait for a writer before fstat could tell it is one
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        status = os.fstat(handle)
        size = status.st_size if stat.S_ISREG(status.st_mode) else 0
        for offset in range(0, size, CHUNK):
            os.posix_fadvise(handle, offset, min(CHUNK, size - offset), os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(handle)
