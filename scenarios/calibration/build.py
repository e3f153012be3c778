"""Turn a live run's raw folder into a calibrated simulated-mode scenario file.

``calibrate(report_dir, scenario)`` observes the run (``observe``), fits each step's
service time and error rates (``fit``), takes the middleware's observed concurrency as
its workers, and lays them over the base scenario; ``Calibration.yaml_text()`` is the
file, with a comment block saying where every number came from. docs/calibration.md.
"""

from __future__ import annotations

import copy
import json
import re
import textwrap
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scenarios.calibration.fit import (
    MIN_SAMPLES,
    Concurrency,
    ErrorCounts,
    concurrency,
    fit_service,
)
from scenarios.calibration.observe import Observation, observe
from scenarios.catalog import ScenarioError, resolve, validate
from scenarios.rawdump import RawDump, RawProblem, load_raw
from scenarios.spec import FLOWS, ScenarioSpec

__all__ = ["Calibration", "CalibrationProblem", "calibrate", "live_latency"]


class CalibrationProblem(ValueError):
    """The run cannot calibrate a scenario; the message fits on one line."""


@dataclass
class Calibration:
    spec: ScenarioSpec
    data: dict[str, Any]
    header: list[str]
    observed: dict[str, dict[str, float]]  # flow -> n, mean_s, p95_s of the live run
    concurrency: Concurrency
    calibrated_flows: list[str] = field(default_factory=list)

    def yaml_text(self) -> str:
        body: str = yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=100)
        lines = []
        for line in self.header:
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            lines += textwrap.wrap(line, 96, subsequent_indent=indent) or [""]
        return "".join(f"# {line}\n" if line else "#\n" for line in lines) + body


def live_latency(obs: Observation) -> dict[str, dict[str, float]]:
    """Per flow of the live run: how many completed, mean and p95 latency (seconds)."""
    out: dict[str, dict[str, float]] = {}
    for flow in FLOWS:
        lat = np.asarray([r.latency_s for r in obs.flows[flow]], dtype=np.float64)
        if lat.size:
            out[flow] = {"n": float(lat.size), "mean_s": float(lat.mean()),
                         "p95_s": float(np.quantile(lat, 0.95))}  # fmt: skip
    return out


def _base_name(report_dir: Path, raw: RawDump, scenario: str | None) -> str:
    if scenario:
        return str(scenario)
    summary = report_dir / "summary.json"
    if summary.is_file():
        try:
            named = json.loads(summary.read_text(encoding="utf-8")).get("scenario")
        except (OSError, ValueError, AttributeError):
            named = None
        if isinstance(named, dict):
            named = named.get("name")
        if isinstance(named, str) and named:
            return named
    named = raw.manifest.get("notes", {}).get("scenario")
    if isinstance(named, str) and named:
        return named
    raise CalibrationProblem(
        f"{report_dir} names no scenario (summary.json, raw notes): give --scenario NAME"
    )


def _base_data(name: str) -> dict[str, Any]:
    try:
        path = resolve(name)
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
        validate(data, str(path))
    except (ScenarioError, OSError, ValueError) as exc:
        raise CalibrationProblem(str(exc)) from None
    if not isinstance(data, dict):
        raise CalibrationProblem(f"scenario {name} is not a mapping")
    return data


def _calibrated_name(base: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", Path(base).stem.lower()).strip("-") or "scenario"
    return f"{stem[:50]}-calibrated"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _fits(obs: Observation) -> tuple[dict[str, list[str]], dict[str, list[float]], list[str]]:
    """Each calibratable flow's steps, the service samples of their operations, and the
    flows left to the base scenario (with why)."""
    steps: dict[str, list[str]] = {}
    samples: dict[str, list[float]] = defaultdict(list)
    skipped = []
    for flow in FLOWS:
        seq, n = obs.sequence(flow)
        if n < MIN_SAMPLES:
            skipped.append(f"{flow}: {n} clean runs with one sequence of calls "
                           f"(at least {MIN_SAMPLES} needed)")  # fmt: skip
            continue
        if len(seq) > 20:
            skipped.append(f"{flow}: {len(seq)} calls per run (a flow takes at most 20)")
            continue
        steps[flow] = seq
        for run in obs.flows[flow]:
            if run.clean:
                for op, ms in run.service_ms():
                    samples[op].append(ms)
    return steps, samples, skipped


def calibrate(report_dir: Path, scenario: str | None = None) -> Calibration:
    """The calibrated scenario of a live run's ``report_dir``; CalibrationProblem if not."""
    try:
        raw = load_raw(report_dir)
        if not any(raw.rows("journal", s) for s in raw.systems):
            raise CalibrationProblem(f"{report_dir}: the raw journals are empty")
        name = _base_name(report_dir, raw, scenario)
        base = _base_data(name)
        conc = concurrency((c.start, c.end) for c in observe(raw).calls)
        workers = max(1, conc.sustained)
        obs = observe(raw, serial=workers == 1)
    except RawProblem as exc:
        raise CalibrationProblem(str(exc)) from None
    steps, samples, skipped = _fits(obs)
    if not steps:
        raise CalibrationProblem(f"{report_dir}: too few samples to calibrate a flow ("
                                 + "; ".join(skipped) + ")")  # fmt: skip
    errors: dict[str, ErrorCounts] = defaultdict(ErrorCounts)
    for c in obs.calls:
        errors[f"{c.system}.{c.op}"].add(c.status, c.fault)
    systems: dict[str, Any] = defaultdict(lambda: {"operations": {}})
    for op in sorted({s for seq in steps.values() for s in seq}):
        fitted = fit_service(samples[op])
        counts = errors[op]
        rates = {k: round(counts.rate(k), 6) for k in ("http_5xx", "dropped") if counts.rate(k)}
        if rates:
            fitted["error_rates"] = rates
        system, _, operation = op.partition(".")
        systems[system]["operations"][operation] = fitted
    events: dict[str, Any] = {"webhook_latency_ms": 0}
    if "invoice_to_ar_invoice" in steps:
        # The live invoices came from billing's invoice run, all of a day at 00:00 UTC: the
        # model issues them so, waits the batch's lead, and queues them as the middleware
        # did (observe.py).
        events["invoice_run"] = "daily"
        pickup = obs.pickup_s("invoice_to_ar_invoice") or 0.0
        events["invoice_run_pickup_ms"] = round(pickup * 1000.0, 1)
    extra = {
        "name": _calibrated_name(name),
        "events": events,
        "systems": dict(systems),
        "flows": {flow: {"steps": seq} for flow, seq in steps.items()},
        "middleware": {"workers": workers},
    }
    data = _merge(base, extra)
    try:
        spec = validate(data, "the calibrated scenario")
    except ScenarioError as exc:
        raise CalibrationProblem(str(exc)) from None
    observed = live_latency(obs)
    header = _header(report_dir, raw, name, obs, conc, samples, errors, steps, skipped)
    return Calibration(spec, data, header, observed, conc, sorted(steps))


def _header(report_dir: Path, raw: RawDump, name: str, obs: Observation,
            conc: Concurrency, samples: dict[str, list[float]],
            errors: dict[str, ErrorCounts], steps: dict[str, list[str]],
            skipped: list[str]) -> list[str]:  # fmt: skip
    notes = json.dumps(raw.manifest.get("notes", {}), sort_keys=True)
    lines = [
        f"Calibrated by `golive scenario calibrate` from the live run in {report_dir}",
        f"(raw written {raw.manifest.get('written_at')}; notes {notes}), over scenario {name}.",
        "Fitted (docs/calibration.md): each flow's steps (the middleware's calls, most common",
        "sequence), each step's service time (wall time from the previous call's end: empirical",
        "quantiles from 30 samples, else lognormal by moments), 5xx and dropped rates outside",
        "the run's fault rules, and middleware.workers = the most requests the middleware had",
        "in flight at once, reached by two requests or more. webhook_latency_ms is 0: a",
        "flow's first step counts from the first delivery attempt, or from the end of the",
        "middleware's previous call when it was busy (the model queues the flow itself);",
        "invoice_run is daily when the invoice flow is fitted, and invoice_run_pickup_ms the",
        "mean lead from an invoice run's events to the middleware's first call on them (no",
        "step counts from before that call). Arrivals, limits, faults and SLOs are the base",
        "scenario's.",
        "",
        f"Middleware concurrency: max {conc.maximum} (reached by two requests or more: "
        f"{conc.sustained}), time-weighted mean while busy "
        f"{conc.busy_mean:.2f}, p50/p95 at a request's start {conc.p50_at_start:g}/"
        f"{conc.p95_at_start:g} ({conc.requests} requests).",
        "Live latency per flow (wall clock): n, mean, p95:",
    ]
    for flow, stats in live_latency(obs).items():
        lines.append(f"  {flow}: {int(stats['n'])}, {stats['mean_s'] * 1000:.1f} ms, "
                     f"{stats['p95_s'] * 1000:.1f} ms")  # fmt: skip
    lines.append("Operations: samples, calls outside fault rules, 5xx, 429 (the limits make "
                 "the model's), dropped, calls a fault rule met:")  # fmt: skip
    for op in sorted(set(samples) | set(errors)):
        e = errors.get(op) or ErrorCounts()
        lines.append(f"  {op}: {len(samples.get(op, []))}, {e.calls}, {e.http_5xx}, "
                     f"{e.http_429}, {e.dropped}, {e.faulted}")  # fmt: skip
    batches = [b for b in obs.batches if b.flow == "invoice_to_ar_invoice"]
    if batches:
        lines.append("Invoice runs (batches): issued at, invoices, lead to the first call:")
    for b in batches:
        lines.append(f"  {b.key}: {b.runs}, {b.lead_s * 1000:.1f} ms")
    for why in skipped:
        lines.append(f"Not calibrated, the base scenario's: {why}")
    lines.append("")
    return lines
