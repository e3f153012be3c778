"""Replications aggregated into means with confidence intervals, and the SLO verdict.

The output of :func:`aggregate` is ``summary.json``: its numbers depend only on the
scenario and the seed; run metadata (wall time, host) lives under ``meta``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from scenarios.result import ReplicationResult
from scenarios.runner import Plan
from scenarios.spec import SLO_UNITS, ScenarioSpec, Slo

__all__ = ["RUN_RULE", "SWEEP_RULE", "aggregate", "ci95", "evaluate_slos", "t_quantile_975",
           "to_json"]  # fmt: skip

RUN_RULE = "the run passes when every SLO holds (mean across replications <= threshold)"
SWEEP_RULE = "a sweep passes when at least one of its points meets every SLO"
NOTHING_CHECKED = "nothing checked"

# Student t, 0.975 quantile, by degrees of freedom (no SciPy needed).
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042]  # fmt: skip


def t_quantile_975(df: int) -> float:
    """Two-sided 95 % Student t quantile for ``df`` degrees of freedom."""
    if df < 1:
        return math.inf
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df


def ci95(values: Sequence[float]) -> dict[str, float]:
    """Mean and the 95 % confidence interval of the mean across replications."""
    arr = np.asarray(values, dtype=float)
    if arr.size and not np.isfinite(arr).all():  # some replication never completed/drained
        return {"mean": math.inf, "ci_low": math.inf, "ci_high": math.inf, "sd": math.inf}
    mean = float(arr.mean()) if arr.size else 0.0
    if arr.size < 2:
        return {"mean": mean, "ci_low": mean, "ci_high": mean, "sd": 0.0}
    sd = float(arr.std(ddof=1))
    half = t_quantile_975(arr.size - 1) * sd / math.sqrt(arr.size)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "sd": sd}


def to_json(summary: dict[str, Any], sort_keys: bool = False) -> str:
    """``summary.json`` text: strict JSON, an infinite value (a percentile of jobs that
    never completed, a backlog that never drained) written as ``null``."""
    return json.dumps(_finite(summary), indent=2, allow_nan=False, sort_keys=sort_keys) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def evaluate_slos(spec: ScenarioSpec, results: Sequence[ReplicationResult]) -> list[dict[str, Any]]:
    """Each SLO against the mean across replications (the CI is reported alongside)."""
    out = []
    for slo in spec.slos:
        stats = ci95([r.metric(slo.metric, slo.flow) for r in results])
        out.append({**_describe(slo), **stats, "passed": stats["mean"] <= slo.threshold})
    return out


def _describe(slo: Slo) -> dict[str, Any]:
    return {"name": slo.name, "metric": slo.metric, "unit": SLO_UNITS[slo.metric],
            "flow": slo.flow, "threshold": slo.threshold}  # fmt: skip


def _point(spec: ScenarioSpec, results: Sequence[ReplicationResult]) -> dict[str, Any]:
    flows: dict[str, dict[str, Any]] = {}
    for flow in results[0].flows:
        keys = [k for k, v in results[0].flows[flow].items() if isinstance(v, int | float)]
        flows[flow] = {k: ci95([r.flows[flow][k] for r in results]) for k in keys}
    totals = {k: ci95([r.totals[k] for r in results]) for k in results[0].totals}
    slos = evaluate_slos(spec, results)
    return {
        "deals": ci95([r.deals for r in results]),
        "sim_events": int(sum(r.sim_events for r in results)),
        "flows": flows,
        "totals": totals,
        "slos": slos,
        # A point without SLOs checked nothing: it is not a pass.
        "passed": bool(slos) and all(s["passed"] for s in slos),
    }


def aggregate(plan: Plan, results: Sequence[ReplicationResult]) -> dict[str, Any]:
    """The ``summary.json`` document (without ``meta``, which the caller adds)."""
    by_point: dict[int, list[ReplicationResult]] = {}
    for res in results:
        by_point.setdefault(res.point, []).append(res)
    points = []
    for index, spec in enumerate(plan.points):
        entry = _point(spec, by_point[index])
        if plan.sweep_key:
            entry = {"params": {plan.sweep_key: plan.sweep_values[index]}, **entry}
        points.append(entry)
    base = plan.points[0]
    # In a sweep the question is "which settings meet the SLOs?": it passes if one does.
    passed = any(p["passed"] for p in points) if plan.sweep_key else points[0]["passed"]
    checks = sum(len(p["slos"]) for p in points)
    verdict = NOTHING_CHECKED if checks == 0 else "pass" if passed else "fail"
    return {
        "scenario": base.name,
        "mode": "sim",
        "seed": base.seed,
        "replications": plan.replications,
        "sweep": {"key": plan.sweep_key, "values": plan.sweep_values} if plan.sweep_key else None,
        "rule": SWEEP_RULE if plan.sweep_key else RUN_RULE,
        "verdict": verdict,
        "passed": passed,
        "slo_checks": checks,
        "points_passed": sum(1 for p in points if p["passed"]),
        "points": points,
    }
