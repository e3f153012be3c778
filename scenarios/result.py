"""What one replication of the model produced, summarised once at the end of a run.

The model writes counters into a :class:`RunRecord` while it runs; :func:`summarise`
turns that and the latency arrays into a compact, picklable :class:`ReplicationResult`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from scenarios.spec import FLOWS, ScenarioSpec

__all__ = [
    "PCT_LEVELS", "ReplicationResult", "RunRecord", "fault_zooms", "percentiles", "summarise",
]  # fmt: skip

PCT_LEVELS: tuple[int, ...] = (50, 75, 90, 95, 99)
_MAX_POINTS = 600  # time series are thinned to this many points before pickling


@dataclass
class RunRecord:
    """Mutable counters the model bumps while it runs (lists indexed by flow/system)."""

    retries: list[int]
    dead_letters: list[int]
    duplicates_reached: list[int]
    duplicates_delivered: list[int]
    reordered: list[int]
    circuit_opened: list[int]
    deferred: int = 0
    wait_sum: float = 0.0
    waits: int = 0
    sojourn_sum: float = 0.0
    drained_at_s: float = 0.0
    drain_s: float = 0.0  # after the last fault window; inf if the work never finished
    timeline: list[tuple[float, str, str, float]] = field(default_factory=list)
    fault_windows: list[tuple[float, float]] = field(default_factory=list)
    sample_t: list[float] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)
    upstream: list[int] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    retry_waiting: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)

    @classmethod
    def empty(cls, n_flows: int, n_systems: int) -> RunRecord:
        z = [0] * n_flows
        return cls(list(z), list(z), list(z), list(z), list(z), [0] * n_systems)


@dataclass
class ReplicationResult:
    """One replication: per-flow metrics, totals, Little's-law terms and time series.

    ``series`` is thinned to at most ~600 points, each summarising the block of samples
    that starts at ``t_s``: ``backlog``, ``upstream``, ``queued`` and ``retry_waiting``
    are block means (their average is the backlog's time-average), ``backlog_max`` the
    block's maximum, ``completed`` the cumulative count at the block's start.
    """

    replication: int
    point: int
    deals: int
    sim_events: int
    horizon_s: float
    flows: dict[str, dict[str, Any]]
    totals: dict[str, float]
    series: dict[str, list[float]]
    timeline: list[tuple[float, str, str, float]]
    # One zoom per fault window (overlapping windows merged): ``start_s``, ``end_s`` and
    # the samples (``t_s``, ``backlog``, ``upstream``, ``queued``, ``retry_waiting``;
    # every sample, up to 3,000 a window) from before the fault until it has drained.
    windows: list[dict[str, Any]] = field(default_factory=list)

    def metric(self, name: str, flow: str | None = None) -> float:
        """An SLO metric; without a flow, latencies take the worst flow, counts the sum.

        A latency percentile is ``inf`` when more of the flow's jobs never completed
        than the percentile leaves room for.
        """
        if flow is not None:
            return float(self.flows[flow].get(name, self.totals.get(name, 0.0)))
        if name.startswith("latency_"):
            values = [f[name] for f in self.flows.values() if f["completed"] + f["never_completed"]]
            return float(max(values)) if values else 0.0
        return float(self.totals[name])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentiles(completed: np.ndarray, expected: int) -> list[float]:
    """Percentiles (``PCT_LEVELS``, linear interpolation) of ``expected`` latencies, of
    which only ``completed`` are known: the others never completed and count as +inf.

    A job that never completes is slower than any SLO; leaving it out would let a run
    that dead-letters a tenth of its orders report a p95 of seconds.
    """
    if expected == 0:
        return [0.0] * len(PCT_LEVELS)
    done = np.sort(completed)
    out = []
    for q in PCT_LEVELS:
        h = (expected - 1) * q / 100.0
        lo = math.floor(h)
        frac = h - lo
        if lo >= done.size or (frac > 0 and lo + 1 >= done.size):
            out.append(math.inf)
        elif frac == 0:
            out.append(float(done[lo]))
        else:
            a, b = float(done[lo]), float(done[lo + 1])
            out.append(a + (b - a) * frac)
    return out


def _thin(values: list[Any], step: int) -> list[Any]:
    return values[::step] if step > 1 else list(values)


def _thin_mean(values: list[int], step: int) -> list[float]:
    # Block means: their average is the samples' average (a time-average of the backlog).
    if step <= 1:
        return [float(v) for v in values]
    return [sum(block) / len(block) for block in _blocks(values, step)]


def _thin_max(values: list[int], step: int) -> list[float]:
    # Peaks matter in a backlog plot: each block's maximum, kept beside the mean.
    return [float(max(block)) for block in _blocks(values, step)]


def _blocks(values: list[int], step: int) -> list[list[int]]:
    return [values[i : i + step] for i in range(0, len(values), step)]


def summarise(
    spec: ScenarioSpec, rec: RunRecord, lat: list[np.ndarray], created: list[np.ndarray],
    arrivals: np.ndarray, horizon_s: float, sim_events: int, areas: tuple[float, float],
    done: tuple[int, int], replication: int, point: int,
) -> ReplicationResult:  # fmt: skip
    """Per-flow latency percentiles, SLA breaches and totals from the raw run data.

    ``areas`` and ``done`` are the integral of jobs in the estate over time and the jobs
    finished, over the arrival window and over the drain period after it.
    """
    deals = len(arrivals)
    flows: dict[str, dict[str, Any]] = {}
    expected = [deals, 0, 0, 0]
    expected[1] = expected[2] = int(created[0].sum())
    expected[3] = int(created[1].sum())
    breaches_total = expected_total = 0
    for i, name in enumerate(FLOWS):
        if not spec.flows[name].enabled:
            continue
        values = lat[i][created[i]]
        n_expected = expected[i]
        sla = spec.flows[name].sla_s
        never = n_expected - values.size  # dead-lettered, or still unfinished at the horizon
        breaches = int((values > sla).sum()) + never
        pct = percentiles(values, n_expected)
        flows[name] = {
            "completed": int(values.size),
            "never_completed": int(never),
            "dead_letters": rec.dead_letters[i],
            "retries": rec.retries[i],
            "duplicates_delivered": rec.duplicates_delivered[i],
            "duplicates_reached": rec.duplicates_reached[i],
            "reordered": rec.reordered[i],
            "sla_breaches": breaches,
            "sla_breach_ratio": breaches / n_expected if n_expected else 0.0,
            "latency_mean_completed_s": float(values.mean()) if values.size else 0.0,
            "latency_max_s": math.inf if never else float(values.max()) if values.size else 0.0,
            **{f"latency_p{q}_s": float(v) for q, v in zip(PCT_LEVELS, pct, strict=True)},
        }
        breaches_total += breaches
        expected_total += n_expected
    window_s = spec.duration_hours * 3600.0
    drain_s = horizon_s - window_s
    finished = done[0] + done[1]
    totals = {
        "retries": float(sum(rec.retries)),
        "retries_per_deal": sum(rec.retries) / deals if deals else 0.0,
        "dead_letters": float(sum(rec.dead_letters)),
        "duplicates_reached": float(sum(rec.duplicates_reached)),
        "duplicates_delivered": float(sum(rec.duplicates_delivered)),
        "deferred_by_breaker": float(rec.deferred),
        "circuit_opened": float(sum(rec.circuit_opened)),
        "sla_breach_ratio": breaches_total / expected_total if expected_total else 0.0,
        "max_backlog": float(max(rec.backlog, default=0)),
        "drain_minutes": rec.drain_s / 60.0,
        "mean_queue_wait_s": rec.wait_sum / rec.waits if rec.waits else 0.0,
        # Little's-law terms over the arrival window (a drain would dilute them), and the
        # drain period on its own.
        "mean_in_system": areas[0] / window_s,
        "throughput_per_s": done[0] / window_s,
        "drain_period_s": drain_s,
        "drain_period_mean_in_system": areas[1] / drain_s if drain_s else 0.0,
        "drain_period_throughput_per_s": done[1] / drain_s if drain_s else 0.0,
        "mean_sojourn_s": rec.sojourn_sum / finished if finished else 0.0,
    }
    step = max(1, len(rec.sample_t) // _MAX_POINTS)
    series = {
        "t_s": _thin(rec.sample_t, step),
        "backlog": _thin_mean(rec.backlog, step),
        "backlog_max": _thin_max(rec.backlog, step),
        "upstream": _thin_mean(rec.upstream, step),
        "queued": _thin_mean(rec.queued, step),
        "retry_waiting": _thin_mean(rec.retry_waiting, step),
        "completed": _thin(rec.completed, step),
    }
    return ReplicationResult(
        replication, point, deals, sim_events, horizon_s, flows, totals, series,
        list(rec.timeline), _zooms(rec, horizon_s),
    )  # fmt: skip


_ZOOM_MAX_SAMPLES = 3_000


def _merged(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _zooms(rec: RunRecord, horizon_s: float) -> list[dict[str, Any]]:
    """Each fault window with half its length before it and its drain after it."""
    if not rec.sample_t:
        return []
    t = np.asarray(rec.sample_t)
    backlog = np.asarray(rec.backlog)
    out = []
    for start, end in _merged(rec.fault_windows):
        length = end - start
        before = backlog[(t < start) & (t >= start - length)]
        normal = float(before.max()) if before.size else 0.0
        # Drained: back to the level before the fault (within 10 %, or one job).
        back = np.nonzero((t >= end) & (backlog <= max(normal * 1.1, normal + 1)))[0]
        drained = float(t[back[0]]) if back.size else horizon_s
        lo = start - max(length / 2, 600.0)
        hi = min(horizon_s, max(end + length / 2, drained + max(length / 4, 600.0)))
        idx = np.nonzero((t >= lo) & (t <= hi))[0]
        step = max(1, -(-idx.size // _ZOOM_MAX_SAMPLES))
        window: dict[str, Any] = {"start_s": start, "end_s": end,
                                  "t_s": [float(v) for v in t[idx][::step]]}  # fmt: skip
        for key in ("backlog", "upstream", "queued", "retry_waiting"):
            values = getattr(rec, key)
            window[key] = [float(values[i]) for i in idx[::step]]
        out.append(window)
    return out


def fault_zooms(rec: RunRecord, horizon_s: float) -> list[dict[str, Any]]:
    """The zoom of each fault window of ``rec`` (as ``ReplicationResult.windows`` holds
    them), for a record filled from elsewhere than the model: a live run's samples."""
    return _zooms(rec, horizon_s)
