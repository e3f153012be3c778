"""Replications and sweep points, run in worker processes or on a Dask cluster.

Every task is ``(scenario as JSON, replication, point)`` and a top-level function, so
it pickles under the ``spawn`` start method and on Dask workers alike; results are
sorted by (point, replication), so the numbers never depend on completion order.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from scenarios.catalog import ScenarioError, apply_overrides, parse_assignment, validate
from scenarios.events import EngineEvent, ReplicationFinished
from scenarios.result import ReplicationResult
from scenarios.spec import ScenarioSpec

__all__ = ["DaskMissing", "Plan", "make_plan", "parse_sweep", "run_plan", "run_task"]

logger = logging.getLogger(__name__)


class DaskMissing(RuntimeError):
    """``--dask-scheduler`` was given but dask.distributed is not installed."""


@dataclass(frozen=True)
class Plan:
    """Sweep points (each a validated scenario) times replications."""

    points: list[ScenarioSpec]
    sweep_key: str | None
    sweep_values: list[Any]
    replications: int

    @property
    def tasks(self) -> list[tuple[dict[str, Any], int, int]]:
        data = [p.model_dump(mode="json") for p in self.points]
        return [(data[p], r, p) for p in range(len(self.points)) for r in range(self.replications)]


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``middleware.workers=2,4,8`` -> (``middleware.workers``, [2, 4, 8])."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    values = [parse_assignment(f"{key}={v}")[1] for v in raw.split(",") if v.strip()]
    if not sep or not key or not values:
        raise ScenarioError(f"--sweep: expected key=v1,v2,..., got {text!r}")
    return key, values


def make_plan(spec: ScenarioSpec, replications: int, sweep: str | None = None) -> Plan:
    """Expand a sweep into validated scenarios, one per value."""
    if replications < 1:
        raise ScenarioError("--replications must be at least 1")
    if not sweep:
        return Plan([spec], None, [], replications)
    key, values = parse_sweep(sweep)
    base = spec.model_dump(mode="json")
    points = []
    for value in values:
        data = apply_overrides(base, [f"{key}={value}"], "--sweep")
        points.append(validate(data, f"--sweep {key}={value}"))
    return Plan(points, key, values, replications)


def run_task(spec_data: dict[str, Any], replication: int, point: int) -> ReplicationResult:
    """One replication of one sweep point (runs in a worker process or on Dask)."""
    from scenarios.model import simulate

    return simulate(ScenarioSpec.model_validate(spec_data), replication, point)


def _finished(res: ReplicationResult) -> ReplicationFinished:
    return ReplicationFinished(0.0, res.replication, res.point, res.deals, res.sim_events)


def _run_dask(tasks: Sequence[tuple[Any, ...]], address: str,
              notify: Callable[[EngineEvent], None]) -> list[ReplicationResult]:  # fmt: skip
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise DaskMissing("--dask-scheduler needs Dask: pip install 'golive[dask]'") from None
    results = []
    # distributed ships without annotations for these two.
    with Client(address, timeout="10s") as client:  # type: ignore[no-untyped-call]
        futures = [client.submit(run_task, *t, pure=False) for t in tasks]
        for fut in dask_completed(futures):  # type: ignore[no-untyped-call]
            res = fut.result()
            results.append(res)
            notify(_finished(res))
    return results


def run_plan(
    plan: Plan,
    workers: int | None = None,
    dask_scheduler: str | None = None,
    listener: Callable[[EngineEvent], None] | None = None,
) -> list[ReplicationResult]:
    """Run every task of the plan; ``workers=1`` runs inline (no subprocess)."""
    notify = listener or (lambda _e: None)
    tasks = plan.tasks
    if dask_scheduler:
        results = _run_dask(tasks, dask_scheduler, notify)
    elif (workers or os.cpu_count() or 1) <= 1 or len(tasks) == 1:
        results = []
        for t in tasks:
            results.append(run_task(*t))
            notify(_finished(results[-1]))
    else:
        n = min(workers or os.cpu_count() or 1, len(tasks))
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            futures = [pool.submit(run_task, *t) for t in tasks]
            results = []
            for fut in as_completed(futures):
                results.append(fut.result())
                notify(_finished(results[-1]))
    logger.debug("ran %d tasks", len(results))
    return sorted(results, key=lambda r: (r.point, r.replication))
