"""The SHA-256 of an index's files, remembered once checked, so a restart need not read them all.

Loading an index checks every artifact against the SHA-256 its manifest records, and nothing
but the plain store is read before that check passes (:mod:`bot.index`). At 300 000 passages
that is 2.6 GB to hash, 1.2 s of a 1.8 s load; a million passages with the real model's
vectors would be about 8.5 GB. A file's hash is remembered in ``checked.json`` beside it, with
the file's identity: device, inode, size, and the times its content and its metadata last
changed. The next load takes the remembered hash only while that identity is unchanged. The
ONNX export's files are checked the same way before they embed queries (model.onnx alone is
90 MB: 111 ms of every start on the seed index, 0.1 ms remembered), and so are the knowledge
files, whose hashes say whether the index is stale (their memo is kept in the index folder,
``knowledge-checked.json``: 227 MB of sources at a million passages, 0.19 s of every start
warm and 0.40-1.12 s cold, now 0.02-0.03 s).

On Linux file systems with their own change times (ext4, xfs, btrfs, tmpfs, overlayfs),
writing to a file with write(), truncating or replacing it, or copying a build elsewhere
changes its identity, and no program can set the metadata change time (``st_ctime_ns``) back,
unlike the content's. What is not caught: bytes changed on the disk beneath the file system
(which a check at start-up would only catch if the pages were not cached anyway); a second
write through a shared writable memory map to a page not yet written back (only the first
such write stamps the times); file systems whose change time a program can set (FAT and
exFAT report the content's) or that a server stamps (NFS, FUSE); a clock set back. Delete
``checked.json`` to have every file read again.

A remembered hash never condemns a file: when it differs from the manifest's, the file is
read again before it is called changed.

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
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.knowledge import sha256_file

log = logging.getLogger("faqbot")

#: The file of remembered hashes, in the folder of the files it speaks for.
MEMO = "checked.json"
#: A file's metadata must have last changed at least this long before it is hashed for its
#: hash to be remembered (file times are kept at the grain of a clock tick, and may lag it).
RACY_SECONDS = 3.0

#: A file's device, inode, size, and content and metadata change times in nanoseconds.
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

    def __init__(self, folder: Path, memo: Path | None = None) -> None:
        """The files of ``folder``, their hashes remembered in ``memo`` (``folder/checked.json``
        unless given: the knowledge folder's are kept with the index, not among the sources)."""
        self.folder = folder
        self.memo = memo if memo is not None else folder / MEMO
        self._known = _read(self.memo)
        self._new: dict[str, tuple[str, Identity]] = {}

    def sha256(self, name: str) -> str | None:
        """The SHA-256 of ``folder/name`` as it is now (None when missing): the remembered one
        while the file's identity is unchanged, else read from the file. Safe from threads.
        A file that cannot be looked at raises OSError (PermissionError, NotADirectoryError)."""
        return self._sha256(name)[0]

    def matches(self, name: str, expected: str | None) -> bool:
        """Whether ``folder/name`` exists and its SHA-256 is ``expected``: the remembered hash
        may say yes, only the file's bytes say no."""
        digest, remembered = self._sha256(name)
        if remembered and digest != expected:
            digest, _ = self._sha256(name, trust=False)
        return digest is not None and digest == expected

    def _sha256(self, name: str, trust: bool = True) -> tuple[str | None, bool]:
        """The file's SHA-256 (None when missing), and whether it was the remembered one."""
        before = identity(self.folder / name)
        if before is None:
            return None, False
        known = self._known.get(name)
        if trust and known is not None and known[1] == before:
            return known[0], True
        return self._read_file(name, before), False

    def _read_file(self, name: str, before: Identity) -> str:
        """Hash the file, and remember the hash with ``before``, its identity taken before
        reading (a change while hashing makes the next load read it again), unless its
        metadata changed too recently to tell a later change apart (see RACY_SECONDS)."""
        now = time.time_ns()
        digest = sha256_file(self.folder / name)
        if now - before[4] >= RACY_SECONDS * 1e9:
            self._new[name] = (digest, before)
        return digest

    def save(self) -> None:
        """Add the hashes read since this memo was made to its file as it is now (other
        processes may have saved theirs meanwhile). Call it once every :meth:`sha256` call has
        returned. A folder that cannot be written to costs only time (every load reads every
        file again), so it is logged, not raised."""
        if not self._new:
            return
        target = self.memo
        entries = _read(target) | self._new
        text = json.dumps(
            {"files": {n: {"sha256": h, "identity": list(i)} for n, (h, i) in entries.items()}},
            indent=1,
        )
        partial: Path | None = None
        try:
            handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            partial = Path(name)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), 0o644)  # mkstemp's 0600 would hide it from other users
                out.write(text)
            os.replace(partial, target)  # whole or not at all, whichever writer is last
        except OSError as exc:
            log.warning("cannot remember the checked hashes (%s): each load reads them", exc)
            if partial is not None:
                with contextlib.suppress(OSError):
                    partial.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, tuple[str, Identity]]:
    """The remembered hashes; nothing when the file is missing or not what this module writes.
    It only ever saves time, so whatever is wrong with it (even JSON nested too deep to parse)
    makes it ignored rather than the index refused."""
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        return {
            str(name): (_digest(entry["sha256"]), _identity(entry["identity"]))
            for name, entry in files.items()
        }
    except Exception:  # any damage at all: read every file instead
        return {}


def _identity(values: Any) -> Identity:
    """Five integers read back from JSON as an identity; ValueError for anything else."""
    if not isinstance(values, list) or len(values) != 5 or any(type(v) is not int for v in values):
        raise ValueError("an identity is five integers")
    return (values[0], values[1], values[2], values[3], values[4])


def _digest(value: Any) -> str:
    """A SHA-256 read back from JSON: 64 lower-case hex digits; ValueError for anything else."""
    if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
        raise ValueError("a SHA-256 is 64 hex digits")
    return value
