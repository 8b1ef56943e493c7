"""Feedback storage: what is kept, what is not, and for how long."""

import datetime as dt
import sqlite3
import threading
from pathlib import Path

from bot.feedback import FeedbackStore


def test_votes_and_unanswered_are_counted(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.vote("down", "answer", ["p1", "p2"])
    store.vote("down", "answer", ["p1"])
    store.vote("up", "answer", ["p2"])
    store.unanswered("does coffee help?")
    summary = store.summary()
    assert (summary.up, summary.down, summary.unanswered) == (1, 2, 1)
    assert [(p.passage_id, p.down, p.up) for p in summary.down_voted] == [
        ("p1", 2, 0),
        ("p2", 1, 1),
    ]


def test_question_text_is_not_kept_unless_logging_is_on(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    FeedbackStore(path).unanswered("my unique question about zebras")
    FeedbackStore(path).vote("up", "answer", [], "my unique question about zebras")
    for written in (path, path.with_name(path.name + "-wal")):  # the log of recent writes too
        assert not written.exists() or b"zebras" not in written.read_bytes()
    assert FeedbackStore(path).summary().recent_unanswered == ()
    logged = FeedbackStore(path, log_questions=True)
    logged.unanswered("what about giraffes?")
    assert logged.summary().recent_unanswered == ("what about giraffes?",)


def test_old_question_texts_are_deleted_after_the_retention_period(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    store = FeedbackStore(path, log_questions=True, retention_days=30)
    store.unanswered("old question")
    store.unanswered("new question")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE unanswered SET at = ? WHERE question = 'old question'", (old,))
    assert store.purge() == 1
    summary = store.summary()
    assert summary.recent_unanswered == ("new question",)
    assert summary.unanswered == 2  # the count stays; only the text goes


def test_the_folder_is_created(tmp_path: Path) -> None:
    FeedbackStore(tmp_path / "new" / "deeper" / "f.sqlite3").unanswered()
    assert (tmp_path / "new" / "deeper" / "f.sqlite3").exists()


def test_every_write_also_forgets_expired_question_texts(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    store = FeedbackStore(path, log_questions=True, retention_days=1)
    store.vote("up", "answer", [], "an old question")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE votes SET at = ?", (old,))
    store.unanswered()  # any write
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT question FROM votes").fetchall() == [(None,)]


def test_the_purge_reads_only_rows_still_holding_text(tmp_path: Path) -> None:
    """Every write purges: it must not scan tables that grow with every unanswered question."""
    store = FeedbackStore(tmp_path / "f.sqlite3")
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.purge()
    store._db.set_trace_callback(None)
    updates = [s for s in statements if s.startswith("UPDATE")]
    assert len(updates) == 2
    for update in updates:
        plan = " ".join(row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {update}"))
        assert "USING INDEX" in plan and "SCAN" not in plan, plan


def test_the_staff_summary_does_not_wait_for_the_writers_lock(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.vote("down", "answer", ["p1"])
    found: list[int] = []
    with store._lock:  # a write in progress on the shared connection
        reader = threading.Thread(target=lambda: found.append(store.summary().down))
        reader.start()
        reader.join(timeout=10)
    assert found == [1]
