"""Figures of a scenario run (matplotlib, no pyplot: safe headless and in workers).

Each function takes replications or the summary and returns a ``Figure`` for the
report writer to inline; bands are 95 % confidence intervals across replications.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from scenarios.result import PCT_LEVELS, ReplicationResult
from scenarios.summary import t_quantile_975

__all__ = [
    "backlog_figure", "fault_zoom_figure", "latency_figure", "latency_timeline_figure",
    "sla_figure", "sweep_figure", "throughput_figure",
]  # fmt: skip


def _band(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95 % CI per column; NaN (not drawn) where a replication is infinite."""
    finite = np.isfinite(rows).all(axis=0)
    safe = np.where(finite, rows, 0.0)
    mean = safe.mean(axis=0)
    if rows.shape[0] < 2:
        half = np.zeros_like(mean)
    else:
        half = t_quantile_975(rows.shape[0] - 1) * safe.std(axis=0, ddof=1) / np.sqrt(len(rows))
    nan = np.full_like(mean, np.nan)
    return (np.where(finite, mean, nan), np.where(finite, mean - half, nan),
            np.where(finite, mean + half, nan))  # fmt: skip


def _aligned(results: Sequence[ReplicationResult], key: str) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(r.series[key]) for r in results)
    t = np.asarray(results[0].series["t_s"][:n]) / 3600.0
    return t, np.asarray([r.series[key][:n] for r in results], dtype=float)


def _shade_faults(ax: Any, results: Sequence[ReplicationResult]) -> None:
    starts = {t: (what, d) for t, what, _s, d in results[0].timeline if what.endswith("_started")}
    for t, (what, d) in starts.items():
        ax.axvspan(t / 3600.0, (t + d) / 3600.0, color="#f4c7c3", alpha=0.5, lw=0)
        ax.annotate(what.removesuffix("_started"), (t / 3600.0, 1.0),
                    xycoords=("data", "axes fraction"), fontsize=7, va="top")  # fmt: skip


def backlog_figure(results: Sequence[ReplicationResult]) -> Figure:
    """Jobs in the estate (held upstream, queued, in service, waiting to retry) over time.

    Each point is a block of samples: the line is the block mean (its average is the
    time-average backlog), the thin line above it the block maximum.
    """
    fig = Figure(figsize=(9, 3.4))
    ax = fig.subplots()
    t, rows = _aligned(results, "backlog")
    mean, lo, hi = _band(rows)
    ax.fill_between(t, np.maximum(lo, 0), hi, alpha=0.3, label="95 % CI of the mean")
    ax.plot(t, mean, lw=1.2, label="backlog (block mean)")
    _, peaks = _aligned(results, "backlog_max")
    ax.plot(t, peaks.mean(axis=0), lw=0.6, color="#888", label="backlog (block max)")
    _, upstream = _aligned(results, "upstream")
    ax.plot(t, upstream.mean(axis=0), lw=0.8, ls=":", label="held upstream")
    _, waiting = _aligned(results, "retry_waiting")
    ax.plot(t, waiting.mean(axis=0), lw=0.8, ls="--", label="waiting to retry")
    _shade_faults(ax, results)
    ax.set_xlabel("simulated hours")
    ax.set_ylabel("jobs")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def fault_zoom_figure(results: Sequence[ReplicationResult], index: int) -> Figure:
    """One fault window up close: the backlog's rise during it and its drain after it."""
    fig = Figure(figsize=(9, 3.0))
    ax = fig.subplots()
    zooms = [r.windows[index] for r in results if len(r.windows) > index]
    first = zooms[0]
    start, end = first["start_s"], first["end_s"]
    n = min(len(z["t_s"]) for z in zooms)
    minutes = (np.asarray(first["t_s"][:n]) - start) / 60.0
    rows = np.asarray([z["backlog"][:n] for z in zooms])
    mean, lo, hi = _band(rows)
    ax.axvspan(0, (end - start) / 60.0, color="#f4c7c3", alpha=0.5, lw=0, label="fault window")
    ax.fill_between(minutes, np.maximum(lo, 0), hi, alpha=0.3, label="95 % CI")
    ax.plot(minutes, mean, lw=1.2, label="backlog (mean of replications)")
    for key, style, label in (("upstream", ":", "held upstream"),
                              ("retry_waiting", "--", "waiting to retry")):  # fmt: skip
        values = np.asarray([z[key][:n] for z in zooms]).mean(axis=0)
        if values.any():
            ax.plot(minutes, values, lw=0.8, ls=style, label=label)
    ax.set_xlabel("minutes from the start of the fault")
    ax.set_ylabel("jobs in the estate")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def throughput_figure(results: Sequence[ReplicationResult]) -> Figure:
    """Completed jobs per hour of simulated time."""
    fig = Figure(figsize=(9, 3.0))
    ax = fig.subplots()
    t, done = _aligned(results, "completed")
    if t.size > 1:
        dt_h = np.diff(t)
        rate = np.diff(done, axis=1) / np.where(dt_h > 0, dt_h, 1.0)
        mean, lo, hi = _band(rate)
        ax.fill_between(t[1:], np.maximum(lo, 0), hi, alpha=0.3)  # no negative rates
        ax.plot(t[1:], mean, lw=1.0)
    _shade_faults(ax, results)
    ax.set_xlabel("simulated hours")
    ax.set_ylabel("jobs completed per hour")
    return fig


def latency_figure(results: Sequence[ReplicationResult]) -> Figure:
    """End-to-end latency percentiles per flow, with a CI band across replications."""
    fig = Figure(figsize=(9, 3.6))
    ax = fig.subplots()
    for flow in results[0].flows:
        rows = np.asarray([[r.flows[flow][f"latency_p{q}_s"] for q in PCT_LEVELS] for r in results])
        mean, lo, hi = _band(rows)
        # With few replications the t-interval can reach below anything observed, which a
        # log axis draws as a plunge; the band starts at the smallest replication's value.
        floor = np.maximum(np.where(np.isfinite(rows), rows, 0.0).min(axis=0), 1e-3)
        never = int(np.mean([r.flows[flow]["never_completed"] for r in results]))
        # A percentile that falls among jobs that never completed is infinite: not drawn.
        label = f"{flow} ({never:,} never completed)" if never else flow
        ax.fill_between(PCT_LEVELS, np.maximum(lo, floor), hi, alpha=0.2)
        ax.plot(PCT_LEVELS, np.maximum(mean, 1e-3), marker="o", ms=3, label=label)
    ax.set_yscale("log")
    ax.set_xticks(PCT_LEVELS, [f"p{q}" for q in PCT_LEVELS])
    ax.set_ylabel("latency (s, log)")
    ax.legend(fontsize=8)
    return fig


def latency_timeline_figure(
    results: Sequence[ReplicationResult], jobs: dict[str, list[tuple[float, float]]]
) -> Figure:
    """Each job's latency at the moment it started (``jobs``: flow -> (start s, latency s)),
    fault windows shaded: which deals a fault held, and for how long."""
    fig = Figure(figsize=(9, 3.4))
    ax = fig.subplots()
    for flow, points in jobs.items():
        if points:
            t, lat = zip(*points, strict=True)
            ax.scatter(np.asarray(t) / 3600.0, np.maximum(np.asarray(lat), 1.0), s=10,
                       label=flow)  # fmt: skip
    _shade_faults(ax, results)
    ax.set_yscale("log")
    ax.set_xlabel("simulated hours (when the job started)")
    ax.set_ylabel("latency (s, log; 0 shown as 1)")
    ax.legend(loc="best", fontsize=8)
    return fig


def sla_figure(results: Sequence[ReplicationResult]) -> Figure:
    """Share of each flow's deals that missed its SLA (or never completed)."""
    fig = Figure(figsize=(9, 2.8))
    ax = fig.subplots()
    flows = list(results[0].flows)
    rows = np.asarray([[r.flows[f]["sla_breach_ratio"] for f in flows] for r in results])
    mean, lo, hi = _band(rows)
    ax.bar(flows, mean * 100, yerr=[(mean - lo) * 100, (hi - mean) * 100], capsize=4)
    ax.set_ylabel("SLA breaches (%)")
    return fig


def sweep_figure(summary: dict[str, Any]) -> Figure:
    """Each SLO's metric against the swept parameter, with its threshold."""
    points = summary["points"]
    key = summary["sweep"]["key"]
    labels = [str(p["params"][key]) for p in points]
    x = np.arange(len(points), dtype=float)
    slos = points[0]["slos"]
    fig = Figure(figsize=(9, 2.6 * max(1, len(slos))))
    axes = fig.subplots(max(1, len(slos)), 1, squeeze=False)[:, 0]
    for i, slo in enumerate(slos):
        ax = axes[i]
        vals = [p["slos"][i] for p in points]
        finite = np.asarray([math.isfinite(v["mean"]) for v in vals])

        def column(key: str, vals: list[dict[str, Any]] = vals) -> np.ndarray:
            return np.asarray([v[key] if math.isfinite(v["mean"]) else np.nan for v in vals])

        mean, low, high = column("mean"), column("ci_low"), column("ci_high")
        colors = ["#2e7d32" if v["passed"] else "#c62828" for v in vals]
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], fmt="-", color="#555", lw=0.8,
                    capsize=4)  # fmt: skip
        ax.scatter(x, mean, c=colors, zorder=3)
        ax.set_xticks(x, labels)
        for xi, f in zip(x, finite, strict=True):
            if not f:  # never completed / never drained: above every threshold
                ax.annotate("∞ (never)", (xi, 0.98), xycoords=("data", "axes fraction"),
                            ha="center", va="top", color="#c62828")  # fmt: skip
        ax.set_xlim(-0.5, len(points) - 0.5)
        ax.axhline(slo["threshold"], ls="--", color="#c62828", lw=0.8, label="threshold")
        ax.set_title(slo["name"], fontsize=9)
        ax.set_ylabel(f"{slo['metric']} ({slo['unit']})", fontsize=8)
        ax.legend(fontsize=7)
    axes[-1].set_xlabel(key)
    fig.tight_layout()
    return fig
