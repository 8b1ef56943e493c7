"""Feedback and unanswered questions, kept in SQLite for the staff page.

What is stored by default: the vote, the reply kind, the quoted passage ids and the time. The
question text is stored only when ``log_questions`` is on, and is deleted after
``retention_days``. One short connection per call keeps it safe across server threads.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    kind TEXT NOT NULL,
    passage_ids TEXT NOT NULL,
    question TEXT
);
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    question TEXT
);
"""


@dataclass(frozen=True)
class PassageVotes:
    """Votes on the replies that quoted one passage."""

    passage_id: str
    down: int
    up: int


@dataclass(frozen=True)
class Summary:
    """What the staff page shows."""

    up: int
    down: int
    unanswered: int
    down_voted: tuple[PassageVotes, ...]  # most down-voted first
    recent_unanswered: tuple[str, ...]  # texts, newest first (only when questions are logged)


class FeedbackStore:
    """Votes and unanswered-question counts in one SQLite file."""

    def __init__(self, path: Path, log_questions: bool = False, retention_days: int = 30):
        self.path = path
        self.log_questions = log_questions
        self.retention = dt.timedelta(days=retention_days)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # a property of the file: set once
            db.executescript(_SCHEMA)
        self.purge()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=5)
        try:
            # with WAL, NORMAL never corrupts the file; a power cut may lose the last counts
            db.execute("PRAGMA synchronous=NORMAL")
            with db:  # commits, or rolls back on error: nothing is half-written
                yield db
        finally:
            db.close()

    def _question(self, text: str | None) -> str | None:
        return text if self.log_questions and text else None

    def vote(
        self, vote: str, kind: str, passage_ids: Sequence[str], question: str | None = None
    ) -> None:
        """Store one thumbs up or down."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO votes (at, vote, kind, passage_ids, question) VALUES (?, ?, ?, ?, ?)",
                (_now(), vote, kind, json.dumps(list(passage_ids)), self._question(question)),
            )
            self._purge(db)

    def unanswered(self, question: str | None = None) -> None:
        """Count one question the sources did not cover."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO unanswered (at, question) VALUES (?, ?)",
                (_now(), self._question(question)),
            )
            self._purge(db)

    def purge(self) -> int:
        """Forget question texts older than the retention period; returns how many."""
        with self._connect() as db:
            return self._purge(db)

    def _purge(self, db: sqlite3.Connection) -> int:
        # run on every write too, so a server that runs for months still forgets on time
        cutoff = (dt.datetime.now(dt.UTC) - self.retention).isoformat()
        removed = 0
        for table in ("votes", "unanswered"):
            cursor = db.execute(
                f"UPDATE {table} SET question = NULL WHERE at < ? AND question IS NOT NULL",
                (cutoff,),
            )
            removed += cursor.rowcount
        return removed

    def summary(self, limit: int = 10) -> Summary:
        """Counts for the staff page, the most down-voted passages first."""
        with self._connect() as db:
            counts = dict(db.execute("SELECT vote, COUNT(*) FROM votes GROUP BY vote").fetchall())
            unanswered = db.execute("SELECT COUNT(*) FROM unanswered").fetchone()[0]
            rows = db.execute("SELECT vote, passage_ids FROM votes").fetchall()
            recent = db.execute(
                "SELECT question FROM unanswered WHERE question IS NOT NULL "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return Summary(
            up=counts.get("up", 0),
            down=counts.get("down", 0),
            unanswered=unanswered,
            down_voted=_down_voted(rows, limit),
            recent_unanswered=tuple(text for (text,) in recent),
        )


def _down_voted(rows: list[tuple[str, str]], limit: int) -> tuple[PassageVotes, ...]:
    tally: dict[str, list[int]] = {}
    for vote, ids in rows:
        for passage_id in json.loads(ids):
            counts = tally.setdefault(passage_id, [0, 0])
            counts[0 if vote == "down" else 1] += 1
    ranked = sorted(
        (PassageVotes(pid, down, up) for pid, (down, up) in tally.items() if down),
        key=lambda p: (-p.down, p.up, p.passage_id),
    )
    return tuple(ranked[:limit])


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
