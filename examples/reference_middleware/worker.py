"""Bounded concurrency: a fixed pool of workers takes jobs from the inbox.

Patterns shown:

- **Acknowledge fast, work in the background.** The webhook handler only stores the
  job; ``workers`` tasks run the flows, so a slow ERP never makes a simulator's delivery
  time out (docs/webhooks.md: 15 s) and a storm of deliveries queues instead of opening
  a thousand connections.
- **What happens to a failed job**: ``Parked`` → pending again after ``park_delay_s``
  (not an attempt; dead-lettered only after ``park_timeout_s``); ``BreakerOpen`` →
  pending again when the breaker lets a trial through (not an attempt); ``Permanent`` →
  dead letters at once; anything else → an attempt used, pending again after an
  exponential backoff with jitter, dead letters after ``job_attempts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from examples.reference_middleware.clients import Systems
from examples.reference_middleware.flows import Parked, handle
from examples.reference_middleware.resilience import BreakerOpen, Permanent
from examples.reference_middleware.store import Job, Store

__all__ = ["Pool"]

log = logging.getLogger("reference_middleware")


class Pool:
    """``size`` workers over one store; ``wake()`` when a job was added."""

    def __init__(self, store: Store, systems: Systems, size: int) -> None:
        self.store, self.systems, self.size = store, systems, size
        self.busy = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        recovered = self.store.recover()
        if recovered:
            log.info("took back %d job(s) a previous run left unfinished", recovered)
        self._tasks = [asyncio.create_task(self._run(n)) for n in range(self.size)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def wake(self) -> None:
        self._wake.set()

    async def _run(self, n: int) -> None:
        while True:
            job = self.store.claim()
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.systems.settings.poll_s)
                continue
            self.busy += 1
            try:
                await self._process(job)
            finally:
                self.busy -= 1

    async def _process(self, job: Job) -> None:
        s = self.systems.settings
        where = f"{job.event_id} {job.type} [corr={job.correlation_id}]"
        try:
            await handle(self.systems, job)
        except asyncio.CancelledError:
            self.store.retry(job.event_id, 0, "interrupted by shutdown", parked=True)
            raise
        except Parked as exc:
            if time.time() - job.received_at > s.park_timeout_s:
                self.store.bury(job.event_id, f"parked too long: {exc}")
                log.error("dead letter %s: parked too long: %s", where, exc)
            else:
                self.store.retry(job.event_id, s.park_delay_s, str(exc), parked=True)
        except BreakerOpen as exc:
            self.store.retry(job.event_id, exc.retry_in_s, str(exc), parked=True)
        except Permanent as exc:
            self.store.bury(job.event_id, str(exc))
            log.error("dead letter %s: %s", where, exc)
        except Exception as exc:  # transient after the call-level retries, or a bug
            error = f"{type(exc).__name__}: {exc}"
            if job.attempts + 1 >= s.job_attempts:
                self.store.bury(job.event_id, error)
                log.error("dead letter %s after %d attempts: %s", where, job.attempts + 1, error)
            else:
                delay = random.uniform(
                    0, min(s.backoff_max_s, s.backoff_initial_s * 2**job.attempts)
                )
                self.store.retry(job.event_id, delay, error)
                log.warning("retrying %s in %.1f s: %s", where, delay, error)
        else:
            self.store.done(job.event_id)
            log.info("done %s", where)
