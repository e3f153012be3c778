"""The job engine: what falls due on the simulator clock runs in time order, at its due time.

Each system's state declares its jobs (``JOBS``, as it declares ``COLLECTIONS``): a
name, the method that says when the job next falls due (from a date index of the
store, never a pass over every object) and the method that runs it for what is due.
Moving the clock to T runs every job due up to T in time order, the clock standing at
each due instant, so events carry the simulated time they happened at; each run is
its own transaction (docs/control-plane.md, the clock).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulators.kit.clock import format_instant, format_timestamp
from simulators.kit.errors import SimError
from simulators.kit.runtime import Runtime
from simulators.kit.uow import transaction

__all__ = [
    "KEY_EXPIRY_JOB",
    "MAX_RUNS_PER_MOVE",
    "Job",
    "JobResult",
    "JobSpec",
    "MoveReport",
    "Scheduler",
    "day_start",
]

log = logging.getLogger(__name__)

KEY_EXPIRY_JOB = "idempotency_key_expiry"
# A clock move runs at most this many jobs: past it the move stops and says so, rather
# than run on through a job whose due time creeps forward a microsecond at a time.
MAX_RUNS_PER_MOVE = 1_000_000


def day_start(day: str) -> float:
    """Epoch seconds of 00:00 UTC on the ISO date ``day``: when a date-keyed job is due."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class JobSpec:
    """One job of a system: ``due`` and ``run`` name methods of its state.

    ``due()`` returns the epoch seconds at which the job next falls due, or None;
    ``run(at)`` handles what is due at ``at`` (a datetime, the clock's now) and returns
    a ``JobResult`` (or the number of objects it handled).
    """

    name: str
    due: str
    run: str


@dataclass
class JobResult:
    """What one run did: objects handled, and objects skipped and flagged (with why)."""

    handled: int = 0
    flagged: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    name: str
    due: Callable[[], float | None]
    run: Callable[[datetime], JobResult | int]


@dataclass
class MoveReport:
    """What a clock move ran: runs and objects per job, failures, flags, stalls."""

    runs: dict[str, int] = field(default_factory=dict)
    handled: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    stalled: list[dict[str, Any]] = field(default_factory=list)
    cut_short: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": dict(self.runs),
            "handled": dict(self.handled),
            "failures": self.failures,
            "flagged": self.flagged[:1000],
            "flagged_total": len(self.flagged),
            "stalled": self.stalled,
            "cut_short": self.cut_short,
        }


class Scheduler:
    """The jobs of one simulator and the runs of those that fall due.

    A job that raised, or that ran and is still due at the instant it ran for (a bug:
    its due time did not move), is held: skipped while its due time stays where it
    was, reported by ``GET /_sim/clock`` and in each move's answer, and tried again once
    its data changes it. Holding is derived from the data, so it needs no storage: a
    restarted simulator tries the job once and holds it again.
    """

    def __init__(self, runtime: Runtime, jobs: Iterable[Job]) -> None:
        self.rt = runtime
        self.jobs: list[Job] = list(jobs)
        self._held: dict[str, tuple[float, str]] = {}  # job -> (due it is held at, why)

    def job(self, name: str) -> Job:
        return next(j for j in self.jobs if j.name == name)

    def _due(self, job: Job) -> float | None:
        due = job.due()
        held = self._held.get(job.name)
        if held is not None:
            if due is not None and due == held[0]:
                return None
            del self._held[job.name]  # its data moved on: try it again
        return due

    def next_due(self) -> tuple[float, Job] | None:
        """The earliest due time of a job that is not held, and that job (ties: declared
        order)."""
        best: tuple[float, Job] | None = None
        for job in self.jobs:
            due = self._due(job)
            if due is not None and (best is None or due < best[0]):
                best = (due, job)
        return best

    def held(self) -> list[dict[str, str]]:
        return [
            {"job": name, "due_at": format_timestamp(due), "reason": why}
            for name, (due, why) in self._held.items()
        ]

    def run_due(self, until: float, report: MoveReport | None = None) -> MoveReport:
        """Run every job due up to ``until`` (epoch seconds) in time order.

        On a frozen clock the clock is moved to each due instant first (in a transaction
        of its own), so the job runs at its due time; an overdue job (due before the
        clock) runs at the clock's now, which never moves back. The clock is left at the
        last job's instant: the caller moves it on to ``until``.
        """
        report = report or MoveReport()
        clock = self.rt.clock
        runs = 0
        while True:
            found = self.next_due()
            if found is None or found[0] > until:
                return report
            due, job = found
            if runs >= MAX_RUNS_PER_MOVE:
                report.cut_short = True
                log.error("%s: a clock move stopped after %d job runs", self.rt.system, runs)
                return report
            runs += 1
            if due > clock.timestamp():
                with transaction(self.rt, join=False):
                    clock.advance(due - clock.timestamp())
            self._run(job, clock.now(), max(due, clock.timestamp()), report)

    def _run(self, job: Job, at: datetime, now: float, report: MoveReport) -> None:
        """Run ``job`` at ``at`` (the clock's now, to the microsecond; ``now`` unrounded)."""
        rt, name = self.rt, job.name
        try:
            with transaction(rt, join=False):
                result = job.run(at)
        except Exception as exc:  # a failing job must not undo or block the others
            due = job.due()
            code = exc.code if isinstance(exc, SimError) else type(exc).__name__
            detail = exc.detail if isinstance(exc, SimError) else str(exc)
            log.exception("%s: job %s failed at %s", rt.system, name, format_instant(at))
            rt.metrics.inc("job_failures", name)
            report.failures.append(
                {
                    "job": name,
                    "at": format_instant(at),
                    "code": code,
                    "detail": detail[:500],
                }
            )
            if due is not None:
                self._held[name] = (due, f"failed: {code}")
            return
        if isinstance(result, int):
            result = JobResult(result)
        rt.metrics.inc("job_runs", name)
        if result.handled:
            rt.metrics.inc("job_objects", name, result.handled)
        report.runs[name] = report.runs.get(name, 0) + 1
        report.handled[name] = report.handled.get(name, 0) + result.handled
        for flag in result.flagged:
            rt.metrics.inc("job_flagged", name)
            report.flagged.append({"job": name, "at": format_instant(at), **flag})
        after = job.due()
        # Still due at the instant it ran for: it did not move its due time (a bug).
        if after is not None and (after <= now or math.isnan(after)):
            log.error("%s: job %s is still due after its run at %s", rt.system, name, at)
            rt.metrics.inc("job_stalls", name)
            report.stalled.append({"job": name, "at": format_instant(at)})
            self._held[name] = (after, "stalled: still due after its run")

    def status(self) -> dict[str, Any]:
        """``next_due_at`` (or null) and the held jobs, for ``GET /_sim/clock``."""
        found = self.next_due()
        return {
            "next_due_at": None if found is None else format_timestamp(found[0]),
            "next_job": None if found is None else found[1].name,
            "held_jobs": self.held(),
        }


def key_expiry_job(runtime: Runtime) -> Job:
    """Idempotency keys live 24 h of simulator time; this sweeps them when they expire."""
    keys = runtime.idempotency

    def run(at: datetime) -> int:
        # The clock unrounded: a key expires at a fraction of a microsecond when it was
        # used on a running clock.
        return keys.expire(max(at.timestamp(), runtime.clock.timestamp()))

    return Job(KEY_EXPIRY_JOB, keys.next_expiry, run)
