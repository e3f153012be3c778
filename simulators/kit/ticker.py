"""The background scheduler: with the clock running, fire each job when it falls due.

Started and stopped by the app's lifespan (Starlette), never at import time. It runs
on the event loop, between requests: a job never runs inside a request's
transaction, and each run is a transaction of its own (``kit/scheduler.py``). A
frozen clock fires nothing until the control plane moves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from simulators.kit.state import SystemState

__all__ = ["MAX_SLEEP_S", "Ticker"]

log = logging.getLogger(__name__)

# The longest sleep between looks at the jobs: a job made due by a request (or a clock
# freeze lifted) fires at most this late.
MAX_SLEEP_S = 1.0
_MIN_SLEEP_S = 0.005


class Ticker:
    """Sleeps until the next due job (at most ``MAX_SLEEP_S``), then runs what is due."""

    def __init__(self, state: SystemState, max_sleep_s: float = MAX_SLEEP_S) -> None:
        self.state = state
        self.max_sleep_s = max_sleep_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="golive-ticker")

    async def stop(self) -> None:
        """Stop after the run in progress (runs never await, so at once), then return."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def tick(self) -> float:
        """Run what is due now; returns how long to sleep before the next look."""
        rt, scheduler = self.state.rt, self.state.scheduler
        self.ticks += 1
        if rt.clock.frozen:
            return self.max_sleep_s
        if rt.writer is not None:  # a transaction holds uncommitted writes: never inside it
            return _MIN_SLEEP_S
        now = rt.clock.timestamp()
        found = scheduler.next_due()
        if found is not None and found[0] <= now:
            scheduler.run_due(now)
            found = scheduler.next_due()
        if found is None:
            return self.max_sleep_s
        return min(self.max_sleep_s, max(_MIN_SLEEP_S, found[0] - rt.clock.timestamp()))

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sleep = self.tick()
            except Exception:  # the scheduler reports job failures; this is anything else
                log.exception("%s: the background scheduler failed a tick", self.state.SYSTEM)
                sleep = self.max_sleep_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), sleep)
