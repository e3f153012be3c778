"""The fits of a calibration: service times, error rates, concurrency (docs/calibration.md).

Service time, by the number of samples ``n`` of an operation:

- ``n >= EMPIRICAL_MIN_SAMPLES`` (30): an empirical table of 21 quantiles (0, 5, ..., 100 %),
  which the model samples by its inverse CDF, linear between the points: no family to
  choose, and the tail the run showed (a lognormal would smooth a bimodal operation);
- ``MIN_SAMPLES <= n < 30``: a lognormal fitted by moments (``sigma^2 = ln(1 + s^2/m^2)``,
  ``mu = ln m - sigma^2/2``), written as its p50 and p99: too few points for a table's
  tails, and service times are positive and right-skewed;
- ``n < MIN_SAMPLES`` (5): not fitted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "EMPIRICAL_MIN_SAMPLES",
    "MIN_SAMPLES",
    "QUANTILE_POINTS",
    "Concurrency",
    "ErrorCounts",
    "concurrency",
    "fit_service",
    "lognormal_by_moments",
    "quantile_table",
]

MIN_SAMPLES = 5
EMPIRICAL_MIN_SAMPLES = 30
QUANTILE_POINTS = 21
_Z99 = 2.3263478740408408  # standard normal quantile at 0.99
_FLOOR_MS = 0.001  # the journal's resolution: a service time is at least this


def lognormal_by_moments(samples: Sequence[float]) -> tuple[float, float]:
    """``(mu, sigma)`` of the lognormal with the samples' mean and variance (ddof=1)."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < 2 or np.any(x <= 0):
        raise ValueError("a lognormal fit needs at least 2 positive samples")
    mean, var = float(x.mean()), float(x.var(ddof=1))
    sigma2 = math.log1p(var / (mean * mean))
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def quantile_table(samples: Sequence[float], points: int = QUANTILE_POINTS) -> list[float]:
    """Equally spaced quantiles q0 .. q100 of the samples (linear interpolation)."""
    x = np.asarray(samples, dtype=np.float64)
    return [float(v) for v in np.quantile(x, np.linspace(0.0, 1.0, points))]


def fit_service(samples_ms: Sequence[float]) -> dict[str, Any]:
    """An ``OperationSpec`` (as scenario-file fields) for these service times, in ms."""
    x = [max(float(v), _FLOOR_MS) for v in samples_ms]
    if len(x) < MIN_SAMPLES:
        raise ValueError(f"{len(x)} samples; a fit needs at least {MIN_SAMPLES}")
    if len(x) >= EMPIRICAL_MIN_SAMPLES:
        table = [round(max(v, _FLOOR_MS), 3) for v in quantile_table(x)]
        return {"distribution": "empirical", "quantiles_ms": table}
    mu, sigma = lognormal_by_moments(x)
    p50 = max(math.exp(mu), _FLOOR_MS)
    return {"distribution": "lognormal", "p50_ms": round(p50, 3),
            "p99_ms": round(max(math.exp(mu + _Z99 * sigma), p50), 3)}  # fmt: skip


@dataclass
class ErrorCounts:
    """One operation's calls by outcome; ``faulted`` calls met a fault rule of the run."""

    calls: int = 0
    http_5xx: int = 0
    http_429: int = 0
    dropped: int = 0
    faulted: int = 0

    def add(self, status: int, fault: object) -> None:
        if fault:  # the run's own fault timeline, not the system's baseline
            self.faulted += 1
            return
        self.calls += 1
        if status == 444:  # a dropped connection (docs/control-plane.md, journal)
            self.dropped += 1
        elif status == 429:
            self.http_429 += 1
        elif 500 <= status < 600:
            self.http_5xx += 1

    def rate(self, kind: str) -> float:
        return float(getattr(self, kind)) / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Concurrency:
    """Requests in flight at once: the most, the time-weighted mean while busy, and
    the number in flight as each request started (its median and 95th percentile).
    ``sustained``: the most that at least two requests started into; a level reached
    once can be one pause of a busy machine rather than a worker (docs/calibration.md).
    """

    maximum: int
    busy_mean: float
    p50_at_start: float
    p95_at_start: float
    requests: int
    sustained: int


def concurrency(spans: Iterable[tuple[float, float]]) -> Concurrency:
    """Sweep ``(start, end)`` spans (seconds); an end before a start at the same instant."""
    edges: list[tuple[float, int]] = []
    for start, end in spans:
        edges.append((start, 1))
        edges.append((max(end, start), -1))
    if not edges:
        return Concurrency(0, 0.0, 0.0, 0.0, 0, 0)
    edges.sort()
    level = peak = 0
    busy_area = busy_time = 0.0
    last = edges[0][0]
    at_start: list[int] = []
    for t, step in edges:
        if level:
            busy_area += level * (t - last)
            busy_time += t - last
        last = t
        level += step
        peak = max(peak, level)
        if step == 1:
            at_start.append(level)
    starts = np.asarray(at_start, dtype=np.float64)
    return Concurrency(
        maximum=peak,
        busy_mean=busy_area / busy_time if busy_time else float(peak),
        p50_at_start=float(np.quantile(starts, 0.5)),
        p95_at_start=float(np.quantile(starts, 0.95)),
        requests=len(at_start),
        sustained=sorted(at_start)[-2] if len(at_start) > 1 else peak,
    )
