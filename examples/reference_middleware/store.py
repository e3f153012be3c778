"""The inbox: dedupe store, job queue, parking lot and dead-letter store in one SQLite file.

Patterns shown:

- **Dedupe that survives a restart.** Every webhook is inserted under its event id
  (the ``webhook-id`` header) as PRIMARY KEY: a redelivery finds the row and is
  acknowledged without doing anything twice, before or after a restart.
- **Transactional inbox.** The handler stores the job and answers 2xx; workers take
  jobs from here, so nothing acknowledged is lost when the process dies (a job left
  ``running`` by a crash is taken again at start, and idempotency keys make that safe).
- **Parking.** A job waiting for another event (an invoice before its order) goes back
  to ``pending`` with ``parked = 1`` and a later ``next_at``: retried, never dropped.
- **Dead letters.** A job that exhausted its retries becomes ``dead``; ``replay``
  puts it back to ``pending`` (``golive sut dlq list|replay``).

WAL mode lets the CLI read and replay while the middleware runs. ``synchronous=NORMAL``
survives a killed process (not a power cut), which is what a restart test needs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Job", "Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    event_id TEXT PRIMARY KEY,          -- the dedupe key: webhook-id = the event's id
    system TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,                 -- the event envelope, as received
    correlation_id TEXT,
    status TEXT NOT NULL,               -- pending | running | done | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    parked INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    received_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, next_at);
"""


@dataclass(frozen=True)
class Job:
    event_id: str
    system: str
    type: str
    event: dict[str, Any]
    correlation_id: str | None
    attempts: int
    received_at: float
    error: str | None = None


class Store:
    """One SQLite file (``<state dir>/inbox.sqlite3``); safe for one process's event loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, system: str, event: dict[str, Any], correlation_id: str | None) -> bool:
        """Store a new event as a pending job; False when its id was seen before."""
        now = time.time()
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO jobs (event_id, system, type, body, correlation_id, status,"
            " next_at, received_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            (event["id"], system, event["type"], json.dumps(event), correlation_id, now, now, now),
        )  # fmt: skip
        return cursor.rowcount == 1

    def recover(self) -> int:
        """At start: jobs a crash left ``running`` are pending again (at least once)."""
        cursor = self._db.execute(
            "UPDATE jobs SET status = 'pending', next_at = ? WHERE status = 'running'",
            (time.time(),),
        )
        return cursor.rowcount

    def claim(self) -> Job | None:
        """The oldest due pending job, marked running (one event loop: no race)."""
        row = self._db.execute(
            "SELECT event_id, system, type, body, correlation_id, attempts, received_at, error"
            " FROM jobs WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT 1",
            (time.time(),),
        ).fetchone()
        if row is None:
            return None
        self._set(row[0], "status = 'running'")
        return Job(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7])

    def done(self, event_id: str) -> None:
        self._set(event_id, "status = 'done', parked = 0, error = NULL")

    def retry(self, event_id: str, delay_s: float, error: str, *, parked: bool = False) -> None:
        """Back to pending after ``delay_s``; a parked job does not use up an attempt."""
        self._set(
            event_id,
            "status = 'pending', parked = ?, error = ?, next_at = ?, attempts = attempts + ?",
            (int(parked), error, time.time() + delay_s, 0 if parked else 1),
        )

    def bury(self, event_id: str, error: str) -> None:
        """Into the dead-letter store."""
        self._set(
            event_id, "status = 'dead', parked = 0, error = ?, attempts = attempts + 1", (error,)
        )

    def replay(self, event_id: str | None = None) -> int:
        """Dead jobs (all, or one) back to pending with fresh attempts; how many."""
        where, args = ("AND event_id = ?", (event_id,)) if event_id else ("", ())
        cursor = self._db.execute(
            "UPDATE jobs SET status = 'pending', attempts = 0, next_at = ?, updated_at = ?"
            f" WHERE status = 'dead' {where}",
            (time.time(), time.time(), *args),
        )
        return cursor.rowcount

    def dead(self) -> list[Job]:
        rows = self._db.execute(
            "SELECT event_id, system, type, body, correlation_id, attempts, received_at, error"
            " FROM jobs WHERE status = 'dead' ORDER BY received_at"
        ).fetchall()
        return [Job(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    def counts(self) -> dict[str, int]:
        """Jobs by status, plus ``parked`` (pending ones waiting for another event) and
        ``due`` (pending ones a worker takes now: not waiting for a retry or a park)."""
        out = {"pending": 0, "running": 0, "done": 0, "dead": 0}
        for status, n in self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status"):
            out[status] = n
        parked, due = self._db.execute(
            "SELECT COUNT(*) FILTER (WHERE parked = 1), COUNT(*) FILTER (WHERE next_at <= ?)"
            " FROM jobs WHERE status = 'pending'",
            (time.time(),),
        ).fetchone()
        out["parked"], out["due"] = parked, due
        return out

    def _set(self, event_id: str, assignments: str, args: tuple[Any, ...] = ()) -> None:
        self._db.execute(
            f"UPDATE jobs SET {assignments}, updated_at = ? WHERE event_id = ?",
            (*args, time.time(), event_id),
        )
