"""The SQLite side of durable state: the schema, one group commit, and the restore.

``Writer.write`` turns change sets (``kit/uow.py``) into as few statements as it can:
the last version of each object, every event, the key records and the meta values,
each kind as ONE multi-row ``INSERT ... VALUES`` (bodies bound as BLOBs, so SQLite
parses nothing). The writer is a thread: every SQLite call gives the interpreter lock
up and must win it back from the busy event loop, which can take a whole switch
interval (5 ms). One row per call made a group commit of a dozen creates wait for the
lock some forty times; one call per kind waits four. ``restore`` loads a database
into a fresh simulator with no unit of work open, so loading writes nothing back.

Every table is keyed by a number that only grows (objects by ``seq``, key records by
their row number), so a commit appends to the last pages of each table instead of
splitting pages all over a tree keyed by random ids: a group of fifteen creates writes
about a dozen pages to the WAL, not fifty. The writer keeps which row holds each
object (``Writer.rows``); key records are looked up in memory only, so a key saved
again (after its 24 h) is a new row and the restore keeps the newest. Databases of the
first layout (objects and keys keyed by their ids) are converted when opened.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import from_json, to_json

from simulators.kit.idempotency import KEY_TTL_S

if TYPE_CHECKING:
    from simulators.kit.state import SystemState
    from simulators.kit.uow import ChangeSet

__all__ = ["LAYOUT", "Writer", "connect", "restore"]

# PRAGMA user_version of the layout below; 0 is the first one (objects keyed by id).
LAYOUT = 2
_OBJECTS = """CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY, type TEXT NOT NULL, body BLOB NOT NULL);"""
_KEYS = """CREATE TABLE IF NOT EXISTS keys (
    client TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL,
    expires_at REAL NOT NULL, status INTEGER NOT NULL, headers BLOB NOT NULL,
    body BLOB NOT NULL);"""
_SCHEMA = f"""
{_OBJECTS}
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
{_KEYS}
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
"""
_KEY_COLUMNS = "client, key, fingerprint, expires_at, status, headers, body"
# From the first layout: same rows, new keys (one transaction; a crash leaves layout 0).
_CONVERT = f"""
BEGIN;
ALTER TABLE objects RENAME TO objects_0;
ALTER TABLE keys RENAME TO keys_0;
{_OBJECTS}
{_KEYS}
INSERT INTO objects (seq, type, body) SELECT seq, type, body FROM objects_0 ORDER BY seq;
INSERT INTO keys ({_KEY_COLUMNS}) SELECT {_KEY_COLUMNS} FROM keys_0 ORDER BY expires_at;
DROP TABLE objects_0;
DROP TABLE keys_0;
PRAGMA user_version = {LAYOUT};
COMMIT;
"""


# Rows go in as multi-row VALUES, at most _CHUNK rows per statement: one SQLite call per
# kind of row and group commit, and nothing for SQLite to parse but the parameters.
# (Every call gives the interpreter lock up: a seed of 10,000 objects makes 20, not 10,000.)
_CHUNK = 500
# BLOBs are bound as bytearray: the sqlite3 module binds it as it is, while for bytes it
# first looks for an adapter (two failed attribute lookups, ~4,000 instructions a value).
_HEADS = {
    "objects": ("INSERT INTO objects (seq, type, body)", 3,
                " ON CONFLICT (seq) DO UPDATE SET body = excluded.body"),
    "events": ("INSERT INTO events (seq, body)", 2, ""),
    "keys": (f"INSERT INTO keys ({_KEY_COLUMNS})", 7, ""),
    "meta": ("INSERT OR REPLACE INTO meta (name, value)", 2, ""),
}  # fmt: skip


@functools.lru_cache(maxsize=256)
def _statement(kind: str, rows: int) -> str:
    """The statement that writes ``rows`` rows of a kind (cached: SQLite keeps it prepared)."""
    if kind == "delete":
        return f"DELETE FROM objects WHERE seq IN ({', '.join('?' * rows)})"
    head, width, tail = _HEADS[kind]
    row = f"({', '.join('?' * width)})"
    return f"{head} VALUES {', '.join([row] * rows)}{tail}"


def _execute(connection: sqlite3.Connection, kind: str, values: list[Any], limit: int) -> None:
    """Write the rows of one kind, given as one flat list of their values.

    ``limit`` is the most ``?`` a statement may have (999 before SQLite 3.32).
    """
    width = _HEADS[kind][1] if kind in _HEADS else 1
    step = min(_CHUNK, limit // width) * width
    for at in range(0, len(values), step):
        part = values[at : at + step]
        connection.execute(_statement(kind, len(part) // width), part)


_IDS = "ids"
_CLOCK = "clock"
_COUNTER = "counter:"


def connect(path: Path, durability: str) -> sqlite3.Connection:
    """Open (or create) a simulator's database in WAL mode at the given durability.

    A database of the first layout is converted to this one first (one transaction).
    """
    connection = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=256
    )
    connection.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit (survives a power cut); NORMAL: only at
    # checkpoints (a killed process loses nothing, a power cut the last commits).
    connection.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
    (layout,) = connection.execute("PRAGMA user_version").fetchone()
    if layout > LAYOUT:
        raise sqlite3.DatabaseError(f"layout {layout} is newer than this version reads ({LAYOUT})")
    first = connection.execute("SELECT 1 FROM pragma_table_info('objects') WHERE name = 'id'")
    if layout == 0 and first.fetchone() is not None:
        connection.executescript(_CONVERT)
    connection.executescript(_SCHEMA)
    connection.execute(f"PRAGMA user_version = {LAYOUT}")
    return connection


def _event_seq(event_id: str) -> int:
    return int(event_id.rpartition("_")[2])


class _Rows:
    """The rows of one stretch of change sets between two clears (values side by side)."""

    __slots__ = ("events", "keys", "meta", "objects")

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.events: list[Any] = []
        self.keys: list[Any] = []
        self.meta: dict[str, Any] = {}


class Writer:
    """Writes change sets to one database; knows the row (``seq``) of each object.

    Objects get a ``seq`` when first written and keep it, so loading by ``seq`` gives
    insertion order. Only the writer thread uses it once the restore has made it.
    """

    __slots__ = ("_variables", "connection", "max_events", "next_seq", "rows")

    def __init__(
        self,
        connection: sqlite3.Connection,
        max_events: int,
        next_seq: int = 1,
        rows: dict[str, dict[str, int]] | None = None,
    ) -> None:
        self.connection = connection
        self.max_events = max_events
        self.next_seq = next_seq
        self.rows: dict[str, dict[str, int]] = rows if rows is not None else {}
        self._variables = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    def write(self, batch: list[ChangeSet]) -> None:
        """Write change sets in order in one transaction and commit.

        Events older than the newest ``max_events`` are dropped, as the in-memory log
        drops them (docs/events.md, retention).
        """
        connection = self.connection
        rows = _Rows()
        first_event = last_event = 0
        connection.execute("BEGIN")
        for changes in batch:
            if changes.cleared or changes.events_cleared or changes.keys_cleared:
                self._flush(rows)  # what came before the clear, first
                rows = _Rows()
                if changes.cleared:  # one pass over the table (no index on type)
                    connection.execute(
                        "DELETE FROM objects WHERE type IN (SELECT value FROM json_each(?))",
                        (to_json(changes.cleared),),
                    )
                for object_type in changes.cleared:
                    self.rows.pop(object_type, None)
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
                rows.events += (last_event, bytearray(to_json(event)))
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
                rows.keys += (client, key, bytearray(fingerprint), expires_at, status,
                              bytearray(to_json(shown)), bytearray(body))  # fmt: skip
        self._flush(rows)
        # Trimmed once per 1024 events: the batch that passes a multiple of 1024 does it.
        if last_event > self.max_events and last_event // 1024 > (first_event - 1) // 1024:
            connection.execute("DELETE FROM events WHERE seq <= ?", (last_event - self.max_events,))
        connection.execute("COMMIT")

    def _flush(self, rows: _Rows) -> None:
        upserts: list[Any] = []
        deletes: list[int] = []
        where = self.rows
        for (object_type, object_id), obj in rows.objects.items():
            of_type = where.get(object_type)
            if of_type is None:
                of_type = where[object_type] = {}
            if obj is None:
                seq = of_type.pop(object_id, None)
                if seq is not None:
                    deletes.append(seq)
                continue
            seq = of_type.get(object_id)
            if seq is None:
                seq = of_type[object_id] = self.next_seq
                self.next_seq += 1
            upserts += (seq, object_type, bytearray(to_json(obj)))
        connection = self.connection
        for kind, values in (
            ("delete", deletes),
            ("objects", upserts),
            ("events", rows.events),
            ("keys", rows.keys),
            ("meta", [v for item in rows.meta.items() for v in item]),
        ):
            if values:
                _execute(connection, kind, values, self._variables)


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


def _blob(value: bytes | str, decode: Callable[[str], bytes]) -> bytes:
    """A key record's bytes: a BLOB (the first rows and now), or text (rows in between)."""
    return value if isinstance(value, bytes) else decode(value)


def restore(connection: sqlite3.Connection, state: SystemState) -> Writer:
    """Load the database into a fresh ``state``; returns the writer that goes on from it.

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
    rows: dict[str, dict[str, int]] = {}
    collections = store.collections
    unique = {name: c.enforce_unique for name, c in collections.items()}
    try:
        for c in collections.values():
            c.enforce_unique = False  # kept as committed, as a seed is loaded as given
        for seq, object_type, body in connection.execute(
            "SELECT seq, type, body FROM objects ORDER BY seq"
        ):
            collection = collections.get(object_type)
            if collection is None:
                continue  # a type this version no longer has
            obj = from_json(body)
            collection.insert(obj)
            loaded.append((object_type, obj))
            of_type = rows.get(object_type)
            if of_type is None:
                of_type = rows[object_type] = {}
            of_type[obj["id"]] = seq
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
    # A key saved again after its 24 h is a newer row: the older one goes.
    connection.execute(
        "DELETE FROM keys WHERE expires_at <= ? OR rowid NOT IN "
        "(SELECT max(rowid) FROM keys GROUP BY client, key)",
        (now,),
    )
    keys = rt.idempotency
    for client, key, fingerprint, expires_at, status, headers, body in connection.execute(
        f"SELECT {_KEY_COLUMNS} FROM keys ORDER BY expires_at, rowid"
    ):
        keys.begin(client, key, _blob(fingerprint, bytes.fromhex), expires_at - KEY_TTL_S)
        pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in from_json(headers)]
        keys.finish(client, key, status, pairs, _blob(body, _latin1))
    state.after_seed(loaded)
    return Writer(connection, rt.config.event_log_max_events, int(next_seq), rows)
