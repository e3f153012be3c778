"""The webhook dispatcher: every committed event to every endpoint that wants it, at least once.

The event log is the outbox: an event joins it in the commit of its change, and the
log tells the dispatcher (a listener) right after. The request path does no more
than push the deliveries on a heap; a task started in the app's lifespan sends them
with bounded concurrency, retries failures on ``RETRY_SCHEDULE_S`` in SIMULATED time
(advance the clock an hour and an hour of retries happen), and logs every attempt
for ``GET /_sim/deliveries``. Per-endpoint order is not promised: deliveries run
concurrently and retries overtake (docs/webhooks.md).

What is done with survives a restart: per endpoint a store counter holds the event
number up to which every delivery succeeded or was given up, so with ``--state-dir``
a restarted simulator sends again whatever came after it (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic_core import to_json

from simulators.kit.clock import format_timestamp
from simulators.kit.uow import transaction
from simulators.kit.webhooks import (
    ENDPOINTS,
    RETRY_SCHEDULE_S,
    done_counter,
    matches,
    signed_headers,
)

if TYPE_CHECKING:
    import aiohttp

    from simulators.kit.state import SystemState

__all__ = ["DEFAULT_TIMEOUT_S", "Dispatcher", "sequence_of"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 15.0  # a receiver that has not answered by then has failed the attempt
DEFAULT_CONCURRENCY = 32
_LOG_MAX = 10_000  # attempts GET /_sim/deliveries keeps
_POLL_S = 0.05  # how often a waiting dispatcher looks at the clock (it may be advanced)
_FLUSH_EVERY_S = 0.2  # how often the done-with counters are written
_HOLD_S = 1.0  # a reorder fault holds a delivery until a later one went, at most this long
# Deliveries yield to the request path: while this many business requests are in flight,
# at most _BUSY_CONCURRENCY deliveries are, started at most _BUSY_RATE_PER_S a second
# (docs/webhooks.md, "Under load").
_BUSY_REQUESTS = 2
_BUSY_CONCURRENCY = 2
_BUSY_RATE_PER_S = 400.0


def sequence_of(event_id: str) -> int:
    return int(event_id[-12:])


@dataclass(order=True, slots=True)
class _Due:
    due_s: float
    order: int
    endpoint_id: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    attempt: int = field(compare=False)  # the attempt about to be made, from 1
    faulted: bool = field(default=False, compare=False)  # an event fault already acted on it


class Dispatcher:
    """Deliveries of one simulator: queued, in flight, logged."""

    def __init__(
        self,
        state: SystemState,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        concurrency: int = DEFAULT_CONCURRENCY,
        seed: int = 0,
    ) -> None:
        self.state = state
        self.rt = state.rt
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self._rng = random.Random(seed)
        self._heap: list[_Due] = []
        self._order = itertools.count()
        self._open: dict[str, dict[int, int]] = {}  # endpoint -> event number -> deliveries
        self._seen: dict[str, int] = {}  # endpoint -> newest event number queued
        self._dirty: set[str] = set()
        self._in_flight = 0
        # Deliveries a reorder fault holds back, per endpoint, with when (monotonic).
        self._held: dict[str, list[tuple[_Due, float]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self.attempts: deque[dict[str, Any]] = deque(maxlen=_LOG_MAX)
        self.rt.events.subscribe(self.on_event)

    # -- the request path: called at each commit -------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        endpoints = self.state.col(ENDPOINTS)
        if not len(endpoints):
            return
        now = self.rt.clock.timestamp()
        for endpoint in endpoints:
            if matches(endpoint, event["type"]):
                self._queue(endpoint["id"], event, now)
        if self._wake is not None:
            self._wake.set()

    def _queue(
        self,
        endpoint_id: str,
        event: dict[str, Any],
        due_s: float,
        attempt: int = 1,
        faulted: bool = False,
    ) -> None:
        number = sequence_of(event["id"])
        opened = self._open.setdefault(endpoint_id, {})
        if attempt == 1:
            opened[number] = opened.get(number, 0) + 1
            self._seen[endpoint_id] = max(self._seen.get(endpoint_id, 0), number)
        due = _Due(due_s, next(self._order), endpoint_id, event, attempt, faulted)
        heapq.heappush(self._heap, due)

    # -- control plane ------------------------------------------------------------------------

    def redeliver(self, event: dict[str, Any], endpoint_id: str | None = None) -> int:
        """Queue ``event`` again for every endpoint that wants it (or the one named)."""
        now = self.rt.clock.timestamp()
        queued = 0
        for endpoint in self.state.col(ENDPOINTS):
            if endpoint_id not in (None, endpoint["id"]) or not matches(endpoint, event["type"]):
                continue
            self._queue(endpoint["id"], event, now)
            queued += 1
        if self._wake is not None:
            self._wake.set()
        return queued

    def pending(self) -> int:
        """Deliveries due now or in flight: what an estate settle waits for."""
        now = self.rt.clock.timestamp()
        held = sum(len(h) for h in self._held.values())
        return self._in_flight + held + sum(1 for due in self._heap if due.due_s <= now)

    def next_due(self) -> float | None:
        """When the next queued delivery falls due (simulator clock), None: none queued."""
        return self._heap[0].due_s if self._heap else None

    def queued(self) -> int:
        return len(self._heap) + self._in_flight + sum(len(h) for h in self._held.values())

    def clear(self) -> None:
        """Forget every delivery (``POST /_sim/reset``: the endpoints go too)."""
        self._heap.clear()
        self._held.clear()
        self._open.clear()
        self._seen.clear()
        self._dirty.clear()
        self.attempts.clear()

    def restore(self) -> None:
        """Queue again what came after each endpoint's done-with counter (after a restart)."""
        kept = self.rt.events.all()
        now = self.rt.clock.timestamp()
        for endpoint in self.state.col(ENDPOINTS):
            done = self.state.store.counter(done_counter(endpoint["id"]))
            for event in kept:
                if sequence_of(event["id"]) > done and matches(endpoint, event["type"]):
                    self._queue(endpoint["id"], event, now)

    # -- the background task ------------------------------------------------------------------

    def start(self) -> None:
        """Run the dispatcher on the running event loop (the app's lifespan calls this)."""
        if self._runner is None:
            self._wake = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        # Cancel until it is done: Python 3.11's wait_for can swallow a cancellation that
        # arrives as the event it waits for is set, and a stop must never hang.
        while not runner.done():
            runner.cancel()
            await asyncio.wait({runner}, timeout=1.0)
        if not runner.cancelled() and runner.exception() is not None:
            log.error("the webhook dispatcher had failed", exc_info=runner.exception())

    async def _run(self) -> None:
        import aiohttp

        assert self._wake is not None
        # aiohttp, not httpx: httpx's async connection pool costs about 2.5 ms of CPU per
        # request here, which capped deliveries near 300/s (docs/benchmarks.md, target 6).
        connector = aiohttp.TCPConnector(limit=self.concurrency, enable_cleanup_closed=True)
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as client:
            flushed = time.monotonic()
            busy_next = 0.0  # under load, the next delivery starts no sooner (monotonic)
            try:
                while True:
                    self._wake.clear()
                    now = self.rt.clock.timestamp()
                    heap = self._heap
                    limit = self.concurrency
                    busy = self.rt.in_flight >= _BUSY_REQUESTS
                    if busy:
                        limit = min(limit, _BUSY_CONCURRENCY)
                    wait_s = _POLL_S
                    while heap and heap[0].due_s <= now and self._in_flight < limit:
                        if busy:
                            mono = time.monotonic()
                            if mono < busy_next:
                                wait_s = min(wait_s, busy_next - mono)
                                break
                            busy_next = max(busy_next, mono - 0.05) + 1 / _BUSY_RATE_PER_S
                        due = heapq.heappop(heap)
                        self._in_flight += 1
                        task = asyncio.get_running_loop().create_task(self._attempt(client, due))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    if self._held:
                        self._release_held(older_than_s=_HOLD_S)
                    if self._dirty and time.monotonic() - flushed >= _FLUSH_EVERY_S:
                        self._flush()
                        flushed = time.monotonic()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait_s)
            finally:
                pending = set(self._tasks)
                while pending:  # cancelled until done, as in stop()
                    for task in pending:
                        task.cancel()
                    _, pending = await asyncio.wait(pending, timeout=1.0)
                self._flush()

    async def _attempt(self, client: aiohttp.ClientSession, due: _Due) -> None:
        import aiohttp

        try:
            endpoint = self.state.col(ENDPOINTS).find(due.endpoint_id)
            if endpoint is None or endpoint["status"] != "enabled":
                self._close(due)  # deleted or disabled since: nothing to send
                return
            rule = None
            if not due.faulted and self.rt.faults.rules:
                path = urlsplit(endpoint["url"]).path or "/"
                rule = self.rt.faults.pick("POST", path, None, delivery=True)
            if rule is not None and rule.kind in ("delay", "reorder"):
                self._postpone(due, endpoint, rule)
                return
            event = due.event
            body = to_json(event).decode()
            headers = signed_headers(endpoint["secret"], event["id"], body, time.time())
            started = time.perf_counter()
            status: int | None = None
            error: str | None = None
            if rule is not None and rule.kind == "webhook_down":
                error = f"webhook_down fault {rule.id}: the receiver is down"
            else:
                try:
                    async with client.post(endpoint["url"], data=body, headers=headers) as r:
                        await r.read()
                        status = r.status
                except TimeoutError:
                    error = f"no answer within {self.timeout_s:g} s"
                except (aiohttp.ClientError, ValueError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"[:300]
                # A later event reached the receiver: what a reorder held back follows it.
                if self._held.get(endpoint["id"]):
                    self._release_held(endpoint["id"])
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            # A retry is the same delivery: once a duplicate fired for it (or it is itself the
            # copy), its retries are not duplicated again, or a failing receiver would make
            # every failed attempt spawn a new delivery without end.
            done_with_faults = due.faulted or (rule is not None and rule.kind == "duplicate")
            self._settle(
                due, endpoint, status, error, latency_ms, rule.id if rule else None,
                faulted=done_with_faults,
            )  # fmt: skip
            if rule is not None and rule.kind == "duplicate":
                # The same event again, same webhook-id, as a provider's retry storm sends it.
                self._queue(endpoint["id"], event, self.rt.clock.timestamp(), 1, faulted=True)
        except Exception:  # never let one delivery stop the others
            log.exception("webhook delivery of %s failed unexpectedly", due.event.get("id"))
            self._close(due)
        finally:
            self._in_flight -= 1
            self.rt.touch()  # activity: the estate clock's quiet period starts again
            if self._wake is not None:
                self._wake.set()

    def _settle(
        self,
        due: _Due,
        endpoint: dict[str, Any],
        status: int | None,
        error: str | None,
        latency_ms: float,
        fault: str | None = None,
        *,
        faulted: bool = False,
    ) -> None:
        delivered = status is not None and 200 <= status < 300
        now = self.rt.clock.timestamp()
        next_at: float | None = None
        if delivered:
            outcome = "delivered"
        elif due.attempt <= len(RETRY_SCHEDULE_S):
            wait_s = RETRY_SCHEDULE_S[due.attempt - 1] * (1 + self._rng.uniform(0, 0.1))
            next_at = now + wait_s
            outcome = "retrying"
        else:
            outcome = "failed"
        self._log(due, endpoint, now, outcome, next_at, fault, status, error, latency_ms)
        self.rt.metrics.inc("webhook_attempts", outcome)
        if next_at is not None:
            self._queue(endpoint["id"], due.event, next_at, due.attempt + 1, faulted=faulted)
        else:
            self._close(due)

    def _postpone(self, due: _Due, endpoint: dict[str, Any], rule: Any) -> None:
        """A delay fault queues the delivery later; a reorder holds it behind the next one."""
        now = self.rt.clock.timestamp()
        later = _Due(due.due_s, due.order, due.endpoint_id, due.event, due.attempt, True)
        if rule.kind == "delay":
            later.due_s = now + float(rule.params.get("delay_s", 60))
            heapq.heappush(self._heap, later)
            outcome, next_at = "delayed", later.due_s
        else:
            self._held.setdefault(endpoint["id"], []).append((later, time.monotonic()))
            outcome, next_at = "held", None
        self._log(due, endpoint, now, outcome, next_at, rule.id)

    def _log(
        self,
        due: _Due,
        endpoint: dict[str, Any],
        now: float,
        outcome: str,
        next_at: float | None,
        fault: str | None,
        status: int | None = None,
        error: str | None = None,
        latency_ms: float = 0.0,
    ) -> None:
        """One line of ``GET /_sim/deliveries`` (docs/webhooks.md)."""
        self.attempts.append({
            "event_id": due.event["id"], "event_type": due.event["type"],
            "endpoint_id": endpoint["id"], "url": endpoint["url"], "attempt": due.attempt,
            "status": status, "error": error, "latency_ms": latency_ms,
            "attempted_at": format_timestamp(now), "outcome": outcome,
            "next_attempt_at": None if next_at is None else format_timestamp(next_at),
            "fault": fault, "wall_at": round(time.time() - latency_ms / 1000, 6),
        })  # fmt: skip

    def _release_held(self, endpoint_id: str | None = None, older_than_s: float = 0.0) -> None:
        """Queue held deliveries again: an endpoint's, or every one held that long."""
        now, cutoff = self.rt.clock.timestamp(), time.monotonic() - older_than_s
        for held_for in [endpoint_id] if endpoint_id is not None else list(self._held):
            kept = []
            for due, since in self._held.get(held_for, []):
                if since <= cutoff:
                    due.due_s = now
                    heapq.heappush(self._heap, due)
                else:
                    kept.append((due, since))
            if kept:
                self._held[held_for] = kept
            else:
                self._held.pop(held_for, None)
        if self._wake is not None:
            self._wake.set()

    def _close(self, due: _Due) -> None:
        """This delivery is done with (delivered, given up or moot)."""
        opened = self._open.get(due.endpoint_id)
        if not opened:
            return
        number = sequence_of(due.event["id"])
        left = opened.get(number, 0) - 1
        if left > 0:
            opened[number] = left
        else:
            opened.pop(number, None)
        self._dirty.add(due.endpoint_id)

    def _flush(self) -> None:
        """Write how far each endpoint is done with, for a restart to go on from there."""
        dirty, self._dirty = self._dirty, set()
        endpoints = self.state.col(ENDPOINTS)
        with transaction(self.rt):
            for endpoint_id in dirty:
                if endpoint_id not in endpoints:
                    continue
                opened = self._open.get(endpoint_id) or {}
                done = min(opened) - 1 if opened else self._seen.get(endpoint_id, 0)
                self.state.store.raise_counter(done_counter(endpoint_id), done)
