"""The SHA-256 of an index's files, remembered once checked, so a restart need not read them all.

Loading an index checks every artifact against the SHA-256 its manifest records, and nothing
but the plain store is read before that check passes (:mod:`bot.index`). At 300 000 passages
that is 2.6 GB to hash, 1.2 s of a 1.8 s load; a million passages with the real model's
vectors would be about 8.5 GB. A file's hash is remembered in ``checked.json`` beside it, with
the file's identity: device, inode, size, and the times its content and its metadata last
changed. The next load takes the remembered hash only while that identity is unchanged. The
ONNX export's files are checked the same way before they embed queries (model.onnx alone is
90 MB: 111 ms of every start on the seed index, 0.1 ms remembered).

Writing to a file, truncating or replacing it, or copying a build elsewhere changes its
identity; the metadata change time (``st_ctime_ns``) cannot be set back by a program, unlike
the content's. What is not caught: bytes that change on the disk beneath the file system,
which a check at start-up would only catch if the pages were not cached anyway. Delete
``checked.json`` to have every file read again.

A file's times are kept by the kernel at a coarse grain (a clock tick, milliseconds), so a
file changed within that grain of being hashed could keep its identity. As git does for its
index, a file whose metadata changed less than RACY_SECONDS before it was hashed is not
remembered: a file just built is read again on the next load.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import time
from pathlib import Path

from bot.knowledge import sha256_file

log = logging.getLogger("faqbot")

#: The file of remembered hashes, in the folder of the files it speaks for.
MEMO = "checked.json"
#: A file's metadata must have last changed at least this long before it is hashed for its
#: hash to be remembered (file times are kept at the grain of a clock tick; FAT's is 2 s).
RACY_SECONDS = 2.0

Identity = tuple[int, int, int, int, int]


def identity(path: Path) -> Identity | None:
    """What changes whenever the file does: device, inode, size, content and metadata change
    times in nanoseconds; None when it is missing or not a regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class HashMemo:
    """The hashes of the files of one folder, remembered across loads (see the module)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._known = _read(folder / MEMO)
        self._new: dict[str, tuple[str, Identity]] = {}

    def sha256(self, name: str) -> str | None:
        """The SHA-256 of ``folder/name`` as it is now (None when missing): the remembered one
        while the file's identity is unchanged, else read from the file. Safe from threads."""
        path = self.folder / name
        before = identity(path)
        if before is None:
            return None
        known = self._known.get(name)
        if known is not None and known[1] == before:
            return known[0]
        now = time.time_ns()
        digest = sha256_file(path)
        # the identity from before reading: a change while hashing makes the next load read again
        if now - before[4] >= RACY_SECONDS * 1e9:
            self._new[name] = (digest, before)
        return digest

    def matches(self, name: str, expected: str | None) -> bool:
        """Whether ``folder/name`` exists and its SHA-256 (see :meth:`sha256`) is ``expected``."""
        digest = self.sha256(name)
        return digest is not None and digest == expected

    def save(self) -> None:
        """Remember the hashes read since this memo was made, with those still valid; a folder
        that cannot be written to costs only time (every load reads every file), so is logged."""
        if not self._new:
            return
        entries = {name: {"sha256": h, "identity": list(i)} for name, (h, i) in self._known.items()}
        entries |= {name: {"sha256": h, "identity": list(i)} for name, (h, i) in self._new.items()}
        target = self.folder / MEMO
        partial = target.with_name(f".{MEMO}.{os.getpid()}")
        try:
            partial.write_text(json.dumps({"files": entries}, indent=1), encoding="utf-8")
            os.replace(partial, target)  # whole or not at all, whichever worker writes last
        except OSError as exc:
            log.warning("cannot remember the checked hashes (%s): each load reads them", exc)
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, tuple[str, Identity]]:
    """The remembered hashes; nothing when the file is missing or not what this module writes
    (it only ever saves time, so a damaged one is ignored rather than refused)."""
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        return {
            str(name): (str(entry["sha256"]), _identity(entry["identity"]))
            for name, entry in files.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _identity(values: list[int]) -> Identity:
    if len(values) != 5 or not all(type(v) is int for v in values):
        raise ValueError("an identity is five integers")
    return (values[0], values[1], values[2], values[3], values[4])
