"""Durable state: with a state directory, every acknowledged write is on disk first.

One SQLite database per simulator (``<state-dir>/<system>.sqlite3``, WAL mode). Each
commit of the unit of work (``kit/uow.py``) hands its ``ChangeSet`` to ``submit``; one
writer thread takes every change set queued so far, writes them in one SQLite
transaction and commits (an fsync with ``synchronous=FULL``): group commit. The
middleware awaits ``barrier()`` before a response leaves, so no client ever sees a
change a crash could still lose. A failed commit stops the simulator taking requests
(fail-stop); a restart reloads what is on disk (docs/durability.md).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import gc
import logging
import os
import queue
import sqlite3
import threading
import weakref
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from simulators.kit.durable_sql import Writer, connect, restore
from simulators.kit.errors import SimError
from simulators.kit.statedir import (
    DURABILITY_MODES,
    StateDirProblem,
    check_state_dir,
)
from simulators.kit.uow import ChangeSet

if TYPE_CHECKING:
    from simulators.kit.state import SystemState

__all__ = [
    "DURABILITY_MODES",
    "Durable",
    "StateDirInUse",
    "StateDirProblem",
    "StorageFailed",
    "StorageStopped",
    "check_state_dir",
    "open_durable",
]

log = logging.getLogger(__name__)

_STOP = None  # queued by close(): the writer ends after what is before it

# On disk every write waits for its group commit with its request's objects alive (its
# coroutine frames, its held response, its change set). Collected every 700 container
# allocations (the default), those of the ~30 requests in flight survive young passes,
# are promoted and bring on full passes: ~20 us of collector per durable create, three
# times the in-memory create's. Young passes every 10,000 allocations: ~6 us.
GC_YOUNG_THRESHOLD = 10_000


class StateDirInUse(StateDirProblem):
    """Another process holds this system's database in the state directory."""


class StorageFailed(Exception):
    """The disk refused a commit: the waiting requests get 500 ``storage_failed``."""


class StorageStopped(SimError):
    """503 for every request after a failed commit: the simulator stopped (fail-stop)."""

    status = 503

    def __init__(self, reason: str) -> None:
        super().__init__(
            "storage_failed",
            f"the state directory refused a write ({reason}); this simulator stopped taking "
            "requests: restart it to reload what is on disk",
        )


def _lock(folder: Path, system: str) -> int:
    """Take ``<system>.lock`` in the folder for this process, or name the holder."""
    path = folder / f"{system}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateDirProblem(f"state dir {folder}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StateDirInUse(
            f"{system}: state dir {folder} is in use by process {holder} ({path}); "
            "one process per state directory and system"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class Durable:
    """The disk behind one simulator's state: a writer thread and the tickets it settles.

    ``submitted`` counts the change sets handed over, ``done`` those on disk; both only
    grow, each written by one thread. ``commits`` counts SQLite transactions: fewer than
    change sets when commits were grouped.
    """

    def __init__(self, writer: Writer, lock_fd: int) -> None:
        self._writer = writer
        self._conn = writer.connection
        self._lock_fd = lock_fd
        self._queue: queue.SimpleQueue[ChangeSet | None] = queue.SimpleQueue()
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._written = threading.Condition()
        self.submitted = 0
        self.done = 0
        self.commits = 0
        self.failure: BaseException | None = None
        self.closed = False
        self._thread = threading.Thread(target=self._run, name="golive-durable", daemon=True)

    def start(self) -> None:
        self._thread.start()
        _OPEN.add(self)

    # -- the event loop's side ---------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Whether a change set handed over is not on disk yet."""
        return self.done < self.submitted

    def submit(self, changes: ChangeSet) -> None:
        """Queue one commit's changes for the writer (the order of calls is the disk's)."""
        if self.closed:
            raise RuntimeError("a commit after the durable store was closed")
        self.submitted += 1
        self._queue.put(changes)

    async def barrier(self) -> None:
        """Return once everything submitted so far is on disk; ``StorageFailed`` if not."""
        target = self.submitted
        if self.done >= target:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        # Checked again now that the writer can see the loop: a batch it finished before
        # reading ``_loop`` is counted here, one it finishes after wakes this loop.
        if self.done >= target:
            return
        if self.failure is not None:
            raise StorageFailed(str(self.failure))
        future = loop.create_future()
        self._waiters.append((target, future))
        await future

    def _wake(self) -> None:
        """Settle the waiters the writer's last batch covers (runs in the event loop)."""
        waiters, done = self._waiters, self.done
        while waiters and waiters[0][0] <= done:
            future = waiters.popleft()[1]
            if not future.done():
                future.set_result(None)
        if self.failure is not None:
            while waiters:
                future = waiters.popleft()[1]
                if not future.done():
                    future.set_exception(StorageFailed(str(self.failure)))

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        take = self._queue.get
        more = self._queue.get_nowait
        while True:
            batch = [take()]
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(more())
            stop = batch[-1] is _STOP
            changes = [c for c in batch if c is not None]
            if changes:
                if self.failure is None:
                    try:
                        self._commit(changes)
                    except BaseException as exc:
                        log.exception("the state directory refused a commit; stopping")
                        self.failure = exc
                        with contextlib.suppress(sqlite3.Error):
                            self._conn.rollback()
                    else:
                        self.commits += 1
                        self.done += len(changes)
                self._settled()
            if stop:
                return

    def _commit(self, changes: list[ChangeSet]) -> None:
        """Write change sets in one transaction and commit it (tests make this fail)."""
        self._writer.write(changes)

    def _settled(self) -> None:
        with self._written:
            self._written.notify_all()
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                loop.call_soon_threadsafe(self._wake)

    # -- for code outside the event loop -----------------------------------------------------

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything submitted is on disk (or failed); False on timeout."""
        with self._written:
            return self._written.wait_for(
                lambda: self.done >= self.submitted or self.failure is not None, timeout_s
            )

    def close(self) -> None:
        """Write what is queued, stop the writer, close the database, release the lock."""
        if self.closed:
            return
        self.closed = True
        _OPEN.discard(self)
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)


_OPEN: weakref.WeakSet[Durable] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Timer actions do not wait for the disk: write what they queued before exiting.
    for durable in list(_OPEN):
        durable.close()


def open_durable(state: SystemState) -> Durable:
    """Lock the system's database, load it into ``state``, start the writer.

    Runs with no unit of work open, so the restore itself writes nothing back.
    ``StateDirProblem`` (one line) when the folder or the lock is not to be had.
    """
    rt = state.rt
    config = rt.config
    if config.state_dir is None:
        raise ValueError("open_durable needs SimConfig.state_dir")
    if config.durability not in DURABILITY_MODES:
        raise StateDirProblem(
            f"durability must be one of {', '.join(DURABILITY_MODES)}, not {config.durability!r}"
        )
    folder = check_state_dir(config.state_dir)
    lock_fd = _lock(folder, rt.system)
    path = folder / f"{rt.system}.sqlite3"
    connection: sqlite3.Connection | None = None
    try:
        connection = connect(path, config.durability)
        writer = restore(connection, state)
    except BaseException as exc:
        if connection is not None:
            connection.close()
        os.close(lock_fd)
        if isinstance(exc, sqlite3.Error):  # not a database, or a damaged one
            raise StateDirProblem(f"{rt.system}: {path}: {exc}") from None
        raise
    young, middle, old = gc.get_threshold()
    if young and young < GC_YOUNG_THRESHOLD:  # 0: the collector is off, leave it so
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
    durable = Durable(writer, lock_fd)
    durable.start()
    rt.durable = durable
    return durable
