"""What a live run measured, in the simulated mode's terms: per-flow latencies from the
oracle's event times, the backlog over the timeline, retries, redeliveries, duplicates and
faults fired from the journals and delivery logs (docs/live-scenarios.md, measurements).

The result is a ``ReplicationResult`` like one replication of the model, so the same
plots and SLO metrics read both modes.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from scenarios.oracle import Snapshot
from scenarios.oracle._model import parse_time
from scenarios.result import PCT_LEVELS, ReplicationResult, RunRecord, fault_zooms, percentiles
from scenarios.spec import FLOWS

if TYPE_CHECKING:
    from golive.live.runner import LiveResult

__all__ = ["FAILED_STATUSES", "LiveMeasures", "measure"]

# What a correct middleware retries: throttled, unavailable, failed, dropped, lost.
FAILED_STATUSES = frozenset({429, 500, 502, 503, 504, 444, 499})
_ORACLE_FLOW = {
    "close_to_order": "close -> order",
    "order_to_entitlement": "order -> entitlement",
    "invoice_to_ar_invoice": "invoice -> AR invoice",
}
_CUSTOMER_OBJECTS = (("sales_order", "order"), ("subscription", "subscription"))


class LiveMeasures:
    """The live run as one replication, plus what only a live run sees."""

    def __init__(
        self,
        result: ReplicationResult,
        seen: dict[str, Any],
        jobs: dict[str, list[tuple[float, float]]] | None = None,
    ) -> None:
        self.result = result
        self.seen = seen  # faults fired, deliveries, journal counts, dead letters ...
        self.jobs = jobs or {}  # flow -> (start offset s, latency s) of each completed job

    def metric(self, name: str, flow: str | None = None) -> float | None:
        """An SLO metric as the model defines it; None when a live run cannot measure it."""
        if name == "dead_letters" and self.seen["dead_letters"] is None:
            return None
        return self.result.metric(name, flow)


def _offset(run: LiveResult, moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment - run.plan.estate_start).total_seconds()


def _sub_latencies(snap: Snapshot, opp_ids: list[str]) -> list[tuple[float, str]]:
    """order -> subscription per deal with exactly one of each (event times)."""
    out = []
    for opp_id in opp_ids:
        orders = snap.linked("sales_order", opp_id, "opportunity_id")
        subs = snap.linked("subscription", opp_id, None)
        if len(orders) != 1 or len(subs) != 1:
            continue
        o_at = snap.event_time(orders[0]["id"], "order.created") or parse_time(
            orders[0].get("created_at")
        )
        s_at = snap.event_time(subs[0]["id"], "subscription.created") or parse_time(
            subs[0].get("created_at")
        )
        if o_at is not None and s_at is not None:
            out.append((max(0.0, (s_at - o_at).total_seconds()), opp_id))
    return out


def _duplicates(snap: Snapshot, opp_ids: list[str]) -> int:
    extra = 0
    for opp_id in opp_ids:
        orders = snap.linked("sales_order", opp_id, "opportunity_id")
        subs = snap.linked("subscription", opp_id, None)
        extra += max(0, len(orders) - 1) + max(0, len(subs) - 1)
        for sub in subs:
            extra += max(0, len(snap.linked("entitlement", sub["id"], "subscription_id")) - 1)
    for ars in snap.by_external_id("ar_invoice").values():
        extra += max(0, len(ars) - 1)
    return extra


def _flow(values: list[float], expected: int, sla_s: float) -> dict[str, Any]:
    arr = np.asarray(values, dtype=float)
    never = max(0, expected - arr.size)
    breaches = int((arr > sla_s).sum()) + never
    pct = percentiles(arr, max(expected, arr.size))
    return {
        "completed": int(arr.size),
        "never_completed": int(never),
        "dead_letters": 0,
        "retries": 0,
        "duplicates_delivered": 0,
        "duplicates_reached": 0,
        "reordered": 0,
        "sla_breaches": breaches,
        "sla_breach_ratio": breaches / expected if expected else 0.0,
        "latency_mean_completed_s": float(arr.mean()) if arr.size else 0.0,
        "latency_max_s": math.inf if never else float(arr.max()) if arr.size else 0.0,
        **{f"latency_p{q}_s": float(v) for q, v in zip(PCT_LEVELS, pct, strict=True)},
    }


def _series(run: LiveResult, jobs: list[tuple[float, float]], rec: RunRecord) -> None:
    """Backlog on the scenario's sample grid: open flow jobs (from event times), and the
    driver's samples held until the next one (deliveries pending, the SUT's queue)."""
    horizon = run.plan.horizon_s
    step = run.plan.spec.sample_interval_s
    grid = np.arange(0.0, horizon + step, step)
    starts = np.asarray([s for s, _ in jobs]) if jobs else np.zeros(0)
    ends = np.asarray([e for _, e in jobs]) if jobs else np.zeros(0)
    open_jobs = ((starts[None, :] <= grid[:, None]) & (ends[None, :] > grid[:, None])).sum(1)
    done = (ends[None, :] <= grid[:, None]).sum(1)
    sample_t = np.asarray([s["offset_s"] for s in run.samples]) if run.samples else np.zeros(0)
    at = np.searchsorted(sample_t, grid, side="right") - 1

    def held(key: str) -> list[int]:
        return [int(run.samples[i][key] or 0) if i >= 0 else 0 for i in at]

    rec.sample_t = [float(t) for t in grid]
    rec.backlog = [int(v) for v in open_jobs]
    rec.completed = [int(v) for v in done]
    rec.upstream = held("pending_deliveries")
    rec.queued = held("sut_queue")
    rec.retry_waiting = held("sut_parked")


def _drain_s(rec: RunRecord, horizon_s: float) -> float:
    """From the end of the last fault window until the backlog is empty (inf: never)."""
    last = max((end for _s, end in rec.fault_windows), default=0.0)
    for t, b in zip(rec.sample_t, rec.backlog, strict=True):
        if t >= last and b == 0:
            return t - last
    return math.inf if rec.backlog and rec.backlog[-1] else horizon_s - last


def _seen(run: LiveResult) -> dict[str, Any]:
    failed = {
        s: sum(1 for e in j if e["status"] in FAILED_STATUSES) for s, j in run.journals.items()
    }
    faulted = {s: sum(1 for e in j if e.get("fault")) for s, j in run.journals.items()}
    replayed = {s: sum(1 for e in j if e.get("replayed")) for s, j in run.journals.items()}
    attempts = [a for d in run.deliveries.values() for a in d]
    outcomes = Counter(a.get("outcome") for a in attempts)
    fired = [t for t in run.timeline if t["what"].endswith("_ended")]
    dlq = (run.status or {}).get("dlq")
    return {
        "requests": {s: len(j) for s, j in run.journals.items()},
        "failed_requests": failed,
        "faulted_requests": faulted,
        "idempotent_replays": replayed,
        "delivery_attempts": len(attempts),
        "deliveries": dict(outcomes),
        "redeliveries": sum(1 for a in attempts if int(a.get("attempt") or 1) > 1),
        "faulted_deliveries": sum(1 for a in attempts if a.get("fault")),
        "faults_fired": [
            {k: t[k] for k in ("system", "what", "rule", "fired", "source")} for t in fired
        ],
        "dead_letters": None if dlq is None else int(dlq),
    }


def measure(run: LiveResult) -> LiveMeasures:
    """The live run's metrics (module docstring)."""
    snap, spec, lat = run.snapshot, run.plan.spec, run.verdict.latencies
    horizon = run.plan.horizon_s
    closed = {o["id"]: o for o in snap.of("opportunity") if o.get("stage") == "closed_won"}
    close_at = {
        i: _offset(
            run, snap.event_time(i, "opportunity.closed_won") or parse_time(o.get("closed_at"))
        )
        for i, o in closed.items()
    }
    by_flow: dict[str, list[tuple[float, float, str]]] = {
        f: [(_offset(run, s) or 0.0, took, i) for s, took, i in lat.get(name, [])]
        for f, name in _ORACLE_FLOW.items()
    }
    order_at: dict[str, float | None] = {i: s + t for s, t, i in by_flow["close_to_order"]}
    by_flow["order_to_subscription"] = [
        (order_at[i] or 0.0, took, i) for took, i in _sub_latencies(snap, list(order_at))
    ]
    inv_at = {
        e["data"]["id"]: _offset(run, parse_time(e.get("occurred_at")))
        for e in snap.events
        if e.get("type") == "invoice.finalized" and (e.get("data") or {}).get("id")
    }
    sources: dict[str, dict[str, float | None]] = {
        "close_to_order": {i: close_at[i] for i in closed},
        "order_to_subscription": order_at,
        "order_to_entitlement": order_at,
        "invoice_to_ar_invoice": inv_at,
    }
    flows: dict[str, dict[str, Any]] = {}
    jobs: list[tuple[float, float]] = []
    for flow in FLOWS:
        done = by_flow[flow]
        flows[flow] = _flow([t for _s, t, _i in done], len(sources[flow]), spec.flows[flow].sla_s)
        jobs += [(s, s + t) for s, t, _i in done]
        finished = {i for _s, _t, i in done}
        jobs += [
            (s, math.inf) for i, s in sources[flow].items() if i not in finished and s is not None
        ]
    seen = _seen(run)
    rec = RunRecord.empty(len(FLOWS), 5)
    rec.fault_windows = [
        (w.start_s, w.end_s) for w in run.plan.windows if w.end_s - w.start_s < horizon
    ]
    _series(run, jobs, rec)
    duplicates = _duplicates(snap, list(closed))
    retries = sum(seen["failed_requests"].values()) + seen["redeliveries"]
    expected_total = sum(len(s) for s in sources.values())
    breaches = sum(int(f["sla_breaches"]) for f in flows.values())
    deals = len(closed)
    totals = {
        "retries": float(retries),
        "retries_per_deal": retries / deals if deals else 0.0,
        "dead_letters": float(seen["dead_letters"] or 0),
        "duplicates_reached": float(duplicates),
        "duplicates_delivered": float(seen["faulted_deliveries"]),
        "sla_breach_ratio": breaches / expected_total if expected_total else 0.0,
        "max_backlog": float(max(rec.backlog, default=0)),
        "drain_minutes": _drain_s(rec, horizon) / 60.0,
    }
    timeline = [
        (
            t["offset_s"],
            t["what"],
            t["system"],
            next(
                (
                    w.end_s - w.start_s
                    for w in run.plan.windows
                    if w.source == t["source"] and w.system == t["system"]
                ),
                0.0,
            )
            if t["what"].endswith("_started")
            else 0.0,
        )
        for t in run.timeline
    ]
    result = ReplicationResult(
        0, 0, deals, 0, horizon, flows, totals, rec_series(rec), timeline, fault_zooms(rec, horizon)
    )
    done_jobs: dict[str, list[tuple[float, float]]] = {
        f: [(start, took) for start, took, _i in by_flow[f]] for f in FLOWS
    }
    return LiveMeasures(result, seen, done_jobs)


def rec_series(rec: RunRecord) -> dict[str, list[float]]:
    """The record's samples as ``ReplicationResult.series`` (no thinning: a live run is small)."""
    return {
        "t_s": list(rec.sample_t),
        "backlog": [float(v) for v in rec.backlog],
        "backlog_max": [float(v) for v in rec.backlog],
        "upstream": [float(v) for v in rec.upstream],
        "queued": [float(v) for v in rec.queued],
        "retry_waiting": [float(v) for v in rec.retry_waiting],
        "completed": [float(v) for v in rec.completed],
    }
