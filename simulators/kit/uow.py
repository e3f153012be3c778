"""The unit of work: one transaction per request, control-plane write and timer action.

Object and index changes, events, counters, id draws and the Idempotency-Key record
of a request commit together or not at all, and the response leaves after the commit
(``SimMiddleware`` opens it; ``transaction()`` opens one for code outside a request).
``state.py`` never sees it: the store, the event log and the id stream record into
the transaction in the current context, as a SQLAlchemy ``Session`` collects what
code adds to it.

In memory the store is changed at once and an undo log keeps the inverse of each
change, so a commit is nearly free and a rollback replays the log backwards. Events
wait in the transaction and join the feed (``GET /events``) only at the commit, with
their ids. ``changes()`` is what a commit would make durable: the objects written or
deleted per collection, the events, the counters, the id stream's position, the
clock when it moved and the idempotency record; with a state directory
(``kit/durable.py``) the commit hands it to the disk writer.

Isolation comes from the event loop: the shipped rules never await between writes,
so no other request runs inside a transaction. A transaction that writes while
another one has uncommitted writes is refused (``InterleavedWrites``) rather than
allowed to undo the other's work on rollback.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from simulators.kit.events import EventLog
    from simulators.kit.idempotency import IdempotencyStore
    from simulators.kit.runtime import Runtime
    from simulators.kit.store import Collection, Store

__all__ = [
    "CURRENT",
    "READ_ONLY",
    "ChangeSet",
    "InterleavedWrites",
    "ReadsNeverWrite",
    "UnitOfWork",
    "current_unit",
    "enter",
    "leave",
    "transaction",
]

Obj = dict[str, Any]

# Kinds of undo-log entries: (kind, target, argument).
_INSERTED = 0  # target: Collection, argument: object id
_REPLACED = 1  # target: Collection, argument: the object before
_REMOVED = 2  # target: Collection, argument: (object before, its position)
_CLEARED = 3  # target: Collection, argument: its contents before
_COUNTED = 4  # target: Store, argument: (counter name, value before or None)
_EVENTS_CLEARED = 5  # target: EventLog, argument: the events before
_KEYS_CLEARED = 6  # target: IdempotencyStore, argument: the entries before
_CALLBACK = 7  # target: a function that undoes a change outside the store


class ReadsNeverWrite(RuntimeError):
    """A read (GET, HEAD, OPTIONS) tried to change state: a bug in the simulator."""


class InterleavedWrites(RuntimeError):
    """A transaction wrote while another one had uncommitted writes: a bug in the simulator."""


@dataclass
class ChangeSet:
    """What one commit makes durable, in the shape a database transaction writes.

    ``cleared`` names collections emptied first (a reset), ``objects`` maps each
    collection to the ids written (the object as committed) or deleted (None).
    """

    cleared: list[str] = field(default_factory=list)
    objects: dict[str, dict[str, Obj | None]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    events: list[Obj] = field(default_factory=list)
    events_cleared: bool = False
    keys_cleared: bool = False
    id_position: int | None = None
    idempotency: tuple[str, str, int, list[tuple[bytes, bytes]], bytes] | None = None
    # The saved key's request fingerprint and expiry (epoch seconds of the simulator clock).
    idempotency_meta: tuple[bytes, float] | None = None
    # Set when the clock moved in this unit: (offset from real time in s, frozen instant).
    clock: tuple[float, float | None] | None = None


class UnitOfWork:
    """One transaction against one simulator's state (its ``Runtime`` and store)."""

    __slots__ = ("_events", "_ids_at", "_rt", "_saved", "_undo", "closed", "doomed")

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        self._undo: list[tuple[int, Any, Any]] = []
        self._events: list[Obj] = []
        self._ids_at = -1  # the id stream's position when this transaction first wrote
        self._saved: tuple[str, str, int, list[tuple[bytes, bytes]], bytes] | None = None
        self.closed = False
        # Set when the request was refused by a raised error: its writes are undone and
        # only the refusal (and its Idempotency-Key record) is committed.
        self.doomed = False

    # -- recording (called by the store, the event log and the id stream) -------------------

    def _claim(self) -> None:
        if self.closed:
            raise InterleavedWrites("a write after its transaction committed")
        rt = self._rt
        if rt.writer is not None and rt.writer is not self:
            raise InterleavedWrites(
                "a transaction wrote while another had uncommitted writes; "
                "rules must not await between writes"
            )
        rt.writer = self
        self._ids_at = rt.ids.position

    def inserted(self, collection: Collection, object_id: str) -> None:
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_INSERTED, collection, object_id))

    def replaced(self, collection: Collection, before: Obj) -> None:
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_REPLACED, collection, before))

    def removed(self, collection: Collection, before: Obj, position: int) -> None:
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_REMOVED, collection, (before, position)))

    def cleared(self, collection: Collection, contents: Any) -> None:
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_CLEARED, collection, contents))

    def counted(self, store: Store, name: str, before: int | None) -> None:
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_COUNTED, store, (name, before)))

    def events_cleared(self, log: EventLog, before: tuple[list[Obj], int]) -> None:
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_EVENTS_CLEARED, log, before))
        self._events.clear()

    def keys_cleared(self, keys: IdempotencyStore, before: Any) -> None:
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_KEYS_CLEARED, keys, before))

    def drawing_id(self) -> None:
        if self._rt.writer is not self:
            self._claim()

    def emitted(self, event: Obj) -> None:
        """Hold an event until the commit: the feed never shows an uncommitted one."""
        if self._rt.writer is not self:
            self._claim()
        self._events.append(event)

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Undo a change to state outside the store (the clock) if this transaction fails."""
        if self._rt.writer is not self:
            self._claim()
        self._undo.append((_CALLBACK, undo, None))

    def save_response(
        self, client: str, key: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """Commit the request's Idempotency-Key record with the rest of its changes."""
        self._saved = (client, key, status, headers, body)

    # -- ending ------------------------------------------------------------------------------

    def commit(self) -> None:
        """Make the changes final: the key's response is saved, events join the feed.

        With a durable store (``kit/durable.py``) the change set goes to its writer; the
        middleware holds the response until the disk has it.
        """
        rt = self._rt
        durable = rt.durable
        changes = None
        if durable is not None and (
            self._undo or self._events or self._saved is not None or rt.writer is self
        ):
            changes = self._changes(numbered=False)
        if rt.writer is self:
            rt.writer = None
        self._undo = []
        self.closed = True  # from here on committed, whatever a listener of the feed does
        if self._saved is not None:
            rt.idempotency.finish(*self._saved)
        if self._events:
            rt.events.publish(self._events)
        if changes is not None and durable is not None:
            changes.events = self._events  # numbered by publish, never changed after
            durable.submit(changes)

    def rollback(self) -> None:
        """Undo every change so far, newest first; the unit stays open for the refusal."""
        for kind, target, arg in reversed(self._undo):
            if kind == _INSERTED:
                target.unstore(arg)
            elif kind == _REPLACED:
                target.restore(arg)
            elif kind == _REMOVED:
                target.reinsert(*arg)
            elif kind == _CLEARED:
                target.refill(arg)
            elif kind == _COUNTED:
                target.reset_counter(*arg)
            elif kind in (_EVENTS_CLEARED, _KEYS_CLEARED):
                target.refill(arg)
            else:
                target()
        rt = self._rt
        if rt.writer is self:
            rt.ids.position = self._ids_at
            rt.writer = None
        self._undo = []
        self._events = []
        self._saved = None

    def changes(self) -> ChangeSet:
        """What ``commit()`` would make durable now (for a durable store; not on the hot path)."""
        return self._changes(numbered=True)

    def _changes(self, numbered: bool) -> ChangeSet:
        rt = self._rt
        out = ChangeSet()
        collections: dict[str, Collection] = {}
        stores: dict[str, Store] = {}
        for kind, target, arg in self._undo:
            if kind in (_INSERTED, _REPLACED, _REMOVED, _CLEARED):
                name = target.spec.object_type
                collections[name] = target
                if kind == _CLEARED:
                    out.cleared.append(name)
                    out.objects.pop(name, None)
                    continue
                before = arg if kind == _REPLACED else arg[0] if kind == _REMOVED else None
                object_id = arg if before is None else before["id"]
                out.objects.setdefault(name, {})[object_id] = None
            elif kind == _COUNTED:
                stores[arg[0]] = target
            elif kind == _EVENTS_CLEARED:
                out.events_cleared = True
            elif kind == _KEYS_CLEARED:
                out.keys_cleared = True
            elif kind == _CALLBACK:
                out.clock = _clock_state(rt)
        for name, written in out.objects.items():
            for object_id in written:
                written[object_id] = collections[name].find(object_id)
        out.counters = {name: store.counter(name) for name, store in stores.items()}
        if numbered:
            out.events = rt.events.numbered(self._events)
        if rt.writer is self:
            out.id_position = rt.ids.position
        saved = self._saved
        out.idempotency = saved
        if saved is not None:
            entry = rt.idempotency.lookup(saved[0], saved[1], -math.inf)
            if entry is not None:
                out.idempotency_meta = (entry.fingerprint, entry.expires_at)
        return out


def _clock_state(rt: Runtime) -> tuple[float, float | None]:
    """The clock as a durable store keeps it: offset from real time, frozen instant."""
    clock = rt.clock
    if clock.frozen:
        return 0.0, clock.timestamp()
    return clock.timestamp() - time.time(), None


class _ReadOnly(UnitOfWork):
    """Stands for the transaction of a read: any write through it is a bug, refused loudly."""

    __slots__ = ()

    def __init__(self) -> None:
        # No runtime: the first write finds no claim of its own and calls _claim, which
        # refuses.
        super().__init__(cast("Runtime", SimpleNamespace(writer=None, durable=None)))
        self.closed = True  # nothing to commit or roll back

    def _claim(self) -> None:
        raise ReadsNeverWrite("a read tried to change state; reads never write")


# The transaction of the running request or block (None: none, changes apply at once).
CURRENT: ContextVar[UnitOfWork | None] = ContextVar("golive_unit_of_work", default=None)
_current = CURRENT
current_unit = CURRENT.get
# The transaction of every read: one shared instance that refuses writes.
READ_ONLY: UnitOfWork = _ReadOnly()


def enter(unit: UnitOfWork) -> Token[UnitOfWork | None]:
    """Make ``unit`` the current transaction; ``leave`` with the token ends that."""
    return _current.set(unit)


def leave(token: Token[UnitOfWork | None]) -> None:
    _current.reset(token)


@contextmanager
def transaction(runtime: Runtime, join: bool = True) -> Iterator[UnitOfWork]:
    """A transaction for code outside a request (timer actions, set-up): all or nothing.

    Inside an open transaction the block joins it (as nested ``transaction.atomic``
    blocks do), unless ``join`` is False: then it commits on its own (each job run of
    ``kit/scheduler.py`` inside a clock move), which the outer unit allows only while it
    has written nothing (``InterleavedWrites`` otherwise). Inside a read it refuses to
    write. A raised error rolls back, except a refusal that says it ``commits`` (a
    declined payment is stored, then refused).
    """
    outer = _current.get()
    if outer is READ_ONLY:
        raise ReadsNeverWrite("a read tried to open a transaction; reads never write")
    if join and outer is not None and not outer.closed:
        yield outer
        return
    unit = UnitOfWork(runtime)
    token = _current.set(unit)
    try:
        yield unit
    except BaseException as exc:
        if getattr(exc, "commits", False):
            unit.commit()
        else:
            unit.rollback()
        raise
    else:
        if unit.doomed:
            unit.rollback()
        unit.commit()
    finally:
        _current.reset(token)
