"""The SQLite side of durable state: the schema, one group commit, and the restore.

``write_batch`` turns change sets (``kit/uow.py``) into as few statements as it can:
the last version of each object, every event, the key records and the meta values,
each kind as ONE statement over a JSON array (``json_each``). The writer is a thread:
every SQLite call gives the interpreter lock up and must win it back from the busy
event loop, which can take a whole switch interval (5 ms). One row per call made a
group commit of a dozen creates wait for the lock some forty times; one call per kind
waits four. ``restore`` loads a database into a fresh simulator with no unit of work
open, so loading writes nothing back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import from_json, to_json

from simulators.kit.idempotency import KEY_TTL_S

if TYPE_CHECKING:
    from simulators.kit.state import SystemState
    from simulators.kit.uow import ChangeSet

__all__ = ["connect", "restore", "write_batch"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    type TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    client TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL,
    expires_at REAL NOT NULL, status INTEGER NOT NULL, headers BLOB NOT NULL,
    body BLOB NOT NULL, PRIMARY KEY (client, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
"""


def _columns(n: int) -> str:
    """The first ``n`` members of each row ``j`` of a JSON array (objects stay JSON text)."""
    return ", ".join(f"json_extract(j.value, '$[{i}]')" for i in range(n))


# Each takes one JSON array of rows as its only parameter.
_ROWS = "FROM json_each(?1) AS j"
_UPSERT_OBJECTS = (
    f"INSERT INTO objects (type, id, seq, body) SELECT {_columns(4)} {_ROWS} "
    "WHERE true ON CONFLICT (type, id) DO UPDATE SET body = excluded.body"
)
_DELETE_OBJECT = "DELETE FROM objects WHERE type = ? AND id = ?"
_INSERT_EVENTS = f"INSERT INTO events (seq, body) SELECT {_columns(2)} {_ROWS}"
# fingerprint as hex, headers as a JSON array, the body as text (latin-1: any bytes).
_SAVE_KEYS = f"INSERT OR REPLACE INTO keys SELECT {_columns(7)} {_ROWS}"
_SET_META = f"INSERT OR REPLACE INTO meta (name, value) SELECT {_columns(2)} {_ROWS}"
_IDS = "ids"
_CLOCK = "clock"
_COUNTER = "counter:"


def connect(path: Path, durability: str) -> sqlite3.Connection:
    """Open (or create) a simulator's database in WAL mode at the given durability."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit (survives a power cut); NORMAL: only at
    # checkpoints (a killed process loses nothing, a power cut the last commits).
    connection.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
    connection.executescript(_SCHEMA)
    return connection


def _event_seq(event_id: str) -> int:
    return int(event_id.rpartition("_")[2])


class _Rows:
    """The rows of one stretch of change sets between two clears."""

    __slots__ = ("events", "keys", "meta", "objects")

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.keys: list[tuple[Any, ...]] = []
        self.meta: dict[str, Any] = {}

    def _empty(self) -> None:
        self.objects, self.events, self.keys, self.meta = {}, [], [], {}

    def write(self, connection: sqlite3.Connection, seq: int) -> int:
        upserts: list[tuple[str, str, int, dict[str, Any]]] = []
        deletes: list[tuple[str, str]] = []
        for (object_type, object_id), obj in self.objects.items():
            if obj is None:
                deletes.append((object_type, object_id))
            else:
                upserts.append((object_type, object_id, seq, obj))
                seq += 1
        if deletes:
            connection.executemany(_DELETE_OBJECT, deletes)
        for statement, rows in (
            (_UPSERT_OBJECTS, upserts),
            (_INSERT_EVENTS, self.events),
            (_SAVE_KEYS, self.keys),
            (_SET_META, list(self.meta.items())),
        ):
            if rows:
                connection.execute(statement, (to_json(rows),))
        self._empty()
        return seq


def write_batch(
    connection: sqlite3.Connection, batch: list[ChangeSet], seq: int, max_events: int
) -> int:
    """Write change sets in order in one transaction and commit; returns the next ``seq``.

    Objects get a ``seq`` when first written and keep it, so loading by ``seq`` gives
    insertion order. Events older than the newest ``max_events`` are dropped, as the
    in-memory log drops them (docs/events.md, retention).
    """
    rows = _Rows()
    first_event = last_event = 0
    connection.execute("BEGIN")
    for changes in batch:
        if changes.cleared or changes.events_cleared or changes.keys_cleared:
            seq = rows.write(connection, seq)  # what came before the clear, first
            for object_type in changes.cleared:
                connection.execute("DELETE FROM objects WHERE type = ?", (object_type,))
            if changes.events_cleared:
                connection.execute("DELETE FROM events")
            if changes.keys_cleared:
                connection.execute("DELETE FROM keys")
        objects = rows.objects
        for object_type, written in changes.objects.items():
            for object_id, obj in written.items():
                objects[(object_type, object_id)] = obj
        for event in changes.events:
            last_event = _event_seq(event["id"])
            first_event = first_event or last_event
            rows.events.append((last_event, event))
        for name, value in changes.counters.items():
            rows.meta[_COUNTER + name] = value
        if changes.id_position is not None:
            rows.meta[_IDS] = changes.id_position
        if changes.clock is not None:
            rows.meta[_CLOCK] = to_json(changes.clock).decode()
        saved, meta = changes.idempotency, changes.idempotency_meta
        if saved is not None and meta is not None:
            client, key, status, headers, body = saved
            shown = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
            fingerprint, expires_at = meta
            rows.keys.append(
                (client, key, fingerprint.hex(), expires_at, status, shown, body.decode("latin-1"))
            )
    seq = rows.write(connection, seq)
    # Trimmed once per 1024 events: the batch that passes a multiple of 1024 does it.
    if last_event > max_events and last_event // 1024 > (first_event - 1) // 1024:
        connection.execute("DELETE FROM events WHERE seq <= ?", (last_event - max_events,))
    connection.execute("COMMIT")
    return seq


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


def _blob(value: bytes | str, decode: Callable[[str], bytes]) -> bytes:
    """A key record's bytes: a BLOB as written before, or the text written now."""
    return value if isinstance(value, bytes) else decode(value)


def restore(connection: sqlite3.Connection, state: SystemState) -> int:
    """Load the database into a fresh ``state``; returns the next object ``seq``.

    Objects come back in their order (indexes rebuilt by the inserts), then counters,
    the id stream's position, the clock, the newest events with their ids, unexpired
    idempotency records; the system's ``after_seed`` rebuilds what it derives.
    """
    rt, store = state.rt, state.store
    meta = dict(connection.execute("SELECT name, value FROM meta"))
    clock = rt.clock
    if _CLOCK in meta:
        offset_s, frozen_at = from_json(meta[_CLOCK])
        # Set as saved: a frozen instant in the past is not a move the public API allows.
        clock._offset_s, clock._frozen_at = offset_s, frozen_at
    rt.ids.position = int(meta.get(_IDS, 0))
    for name, value in meta.items():
        if name.startswith(_COUNTER):
            # Set outright, not raised: a counter a system set at start-up (the ERP's next
            # period close) must go back to where it stood, even if that is lower.
            store.reset_counter(name[len(_COUNTER) :], int(value))

    loaded: list[tuple[str, dict[str, Any]]] = []
    collections = store.collections
    unique = {name: c.enforce_unique for name, c in collections.items()}
    try:
        for c in collections.values():
            c.enforce_unique = False  # kept as committed, as a seed is loaded as given
        for object_type, body in connection.execute("SELECT type, body FROM objects ORDER BY seq"):
            collection = collections.get(object_type)
            if collection is None:
                continue  # a type this version no longer has
            obj = from_json(body)
            collection.insert(obj)
            loaded.append((object_type, obj))
    finally:
        for name, flag in unique.items():
            collections[name].enforce_unique = flag
    (next_seq,) = connection.execute("SELECT coalesce(max(seq), 0) + 1 FROM objects").fetchone()

    log = rt.events
    (last,) = connection.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
    first = max(1, last - log.max_events + 1)
    events = [from_json(body) for (body,) in connection.execute(
        "SELECT body FROM events WHERE seq >= ? ORDER BY seq", (first,))]  # fmt: skip
    # The log's window as it stood: ids go on from the newest, older ones are expired.
    log._events, log._dropped = events, (first - 1 if events else 0)

    now = clock.timestamp()
    connection.execute("DELETE FROM keys WHERE expires_at <= ?", (now,))
    keys = rt.idempotency
    for client, key, fingerprint, expires_at, status, headers, body in connection.execute(
        "SELECT * FROM keys ORDER BY expires_at"
    ):
        keys.begin(client, key, _blob(fingerprint, bytes.fromhex), expires_at - KEY_TTL_S)
        pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in from_json(headers)]
        keys.finish(client, key, status, pairs, _blob(body, _latin1))
    state.after_seed(loaded)
    return int(next_seq)
