"""The side-by-side of a live run: the simulated model run on the same scenario file at
the live run's volume, metric by metric (docs/live-scenarios.md, side by side)."""

from __future__ import annotations

import math
from typing import Any

from golive.live.measure import LiveMeasures
from golive.live.plan import LivePlan
from scenarios.result import ReplicationResult
from scenarios.spec import FLOWS, SLO_UNITS

__all__ = ["SIDE_METRICS", "side_by_side", "simulate_small"]

# Totals both modes define, then each flow's percentiles.
SIDE_METRICS: tuple[str, ...] = (
    "retries_per_deal",
    "dead_letters",
    "duplicates_reached",
    "sla_breach_ratio",
    "max_backlog",
    "drain_minutes",
)


def simulate_small(plan: LivePlan, replications: int = 3) -> list[ReplicationResult]:
    """The model on the same spec, its arrivals scaled to the live run's kept fraction."""
    from scenarios.runner import make_plan, run_plan

    spec = plan.spec
    rate = max(spec.arrivals.baseline_deals_per_hour * plan.kept_fraction, 1e-6)
    arrivals = spec.arrivals.model_copy(update={"baseline_deals_per_hour": rate})
    small = spec.model_copy(update={"arrivals": arrivals})
    sim_plan = make_plan(small, replications)
    return list(run_plan(sim_plan, 1, None, None))


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values):
        return math.inf
    return sum(finite) / len(finite) if finite else 0.0


def side_by_side(live: LiveMeasures, sim: list[ReplicationResult]) -> list[dict[str, Any]]:
    """One row per metric: the live value, the model's mean, and the unit."""
    rows: list[dict[str, Any]] = [
        {
            "metric": "deals",
            "flow": None,
            "unit": "deals",
            "live": float(live.result.deals),
            "simulated": _mean([float(r.deals) for r in sim]),
        }
    ]
    for name in SIDE_METRICS:
        value = live.metric(name)
        rows.append(
            {
                "metric": name,
                "flow": None,
                "unit": SLO_UNITS[name],
                "live": value,
                "simulated": _mean([r.metric(name) for r in sim]),
            }
        )
    for flow in FLOWS:
        for q in ("p50", "p95", "p99"):
            name = f"latency_{q}_s"
            rows.append(
                {
                    "metric": name,
                    "flow": flow,
                    "unit": "s",
                    "live": live.metric(name, flow),
                    "simulated": _mean([r.metric(name, flow) for r in sim]),
                }
            )
    return rows
