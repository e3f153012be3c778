"""The report folder of a live run, in the shape of the simulated mode's: ``summary.json``
(``points[0].slos`` as there), ``junit.xml`` (one testcase per invariant and per SLO) and
``report.html`` with the same plots, the oracle's verdict and the side-by-side.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from golive.live.measure import LiveMeasures
from golive.live.runner import LiveResult, is_paced
from golive.reconcile import INVARIANT_COLUMNS, invariant_rows
from golive.reconcile import describe as describe_violation
from golive.report import HtmlReport, JunitCase, write_junit
from scenarios.oracle import Slos
from scenarios.spec import SLO_UNITS, ScenarioSpec
from scenarios.summary import to_json

__all__ = ["LIVE_RULE", "evaluate", "oracle_slos", "write_report"]

LIVE_RULE = (
    "every invariant of the oracle holds and every SLO that a live run can measure "
    "is met (value <= threshold)"
)
_ORACLE_KEY = {
    "close_to_order": "close_to_order_s",
    "order_to_entitlement": "order_to_entitlement_s",
    "invoice_to_ar_invoice": "invoice_to_ar_invoice_s",
}


def oracle_slos(spec: ScenarioSpec, base: Slos) -> Slos:
    """The oracle's per-deal latency limits for a live run. A flow the scenario judges by
    a latency percentile (an outage scenario expects some orders hours late) is allowed
    the whole run per deal, so the percentile SLO decides; the others keep golive.toml's
    ``[slos]``."""
    values = {
        k: getattr(base, k)
        for k in ("close_to_order_s", "order_to_entitlement_s", "invoice_to_ar_invoice_s",
                  "payment_to_receipt_s")
    }  # fmt: skip
    for flow, key in _ORACLE_KEY.items():
        if any(s.metric.startswith("latency_") and s.flow in (flow, None) for s in spec.slos):
            values[key] = max(values[key], spec.horizon_s)
    return Slos(**values)


def evaluate(spec: ScenarioSpec, live: LiveMeasures) -> list[dict[str, Any]]:
    """Each SLO of the file: measured and judged, or reported as not applied (and why)."""
    out = []
    for slo in spec.slos:
        value = live.metric(slo.metric, slo.flow)
        entry: dict[str, Any] = {
            "name": slo.name,
            "metric": slo.metric,
            "unit": SLO_UNITS[slo.metric],
            "flow": slo.flow,
            "threshold": slo.threshold,
        }
        if value is None:
            out.append(
                {
                    **entry,
                    "applied": False,
                    "mean": None,
                    "ci_low": None,
                    "ci_high": None,
                    "passed": None,
                    "why": "the middleware reports no dead letters (no /status with dlq)",
                }
            )
            continue
        out.append(
            {
                **entry,
                "applied": True,
                "mean": value,
                "ci_low": value,
                "ci_high": value,
                "passed": value <= slo.threshold,
            }
        )
    return out


def _summary(
    run: LiveResult,
    live: LiveMeasures,
    slos: list[dict[str, Any]],
    side: list[dict[str, Any]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    spec = run.plan.spec
    applied = [s for s in slos if s["applied"]]
    passed = run.verdict.ok and all(s["passed"] for s in applied)
    return {
        "scenario": spec.name,
        "mode": "live",
        "seed": spec.seed,
        "replications": 1,
        "sweep": None,
        "rule": LIVE_RULE,
        "verdict": "pass" if passed else "fail",
        "passed": passed,
        "slo_checks": len(applied),
        "points": [
            {
                "deals": {"mean": live.result.deals},
                "flows": live.result.flows,
                "totals": live.result.totals,
                "slos": slos,
                "passed": passed,
            }
        ],
        "live": {
            **run.plan.describe(),
            "paced": is_paced(run.plan),
            "sut": run.sut,
            "wall_s": round(run.wall_s, 2),
            "max_lag_s": round(run.max_lag_s, 3),
            "drained": run.drained,
            "followed_to": run.followed_to,
            "raw": run.raw,
            "deals_closed": len(run.deals),
            "deals_not_closed": run.unclosed,
            "seen": live.seen,
            "middleware_status": run.status,
        },
        "not_applied": run.plan.not_applied
        + [
            {
                "field": f"slos[{s['name']}]",
                "value": s["metric"],
                "why": s["why"],
                "set_by_file": "true",
            }
            for s in slos
            if not s["applied"]
        ],
        "oracle": run.verdict.to_dict(),
        "side_by_side": side,
        "meta": meta,
    }


def _junit(folder: Path, run: LiveResult, slos: list[dict[str, Any]]) -> None:
    name = run.plan.spec.name
    cases = [
        JunitCase(
            r.name,
            f"scenario.{name}.oracle",
            failure="\n".join(describe_violation(v) for v in r.violations),
        )
        for r in run.verdict.results
    ]
    for s in slos:
        if not s["applied"]:
            cases.append(
                JunitCase(
                    s["name"],
                    f"scenario.{name}.slo",
                    skipped=f"not applied in live mode: {s['why']}",
                )
            )
            continue
        fail = "" if s["passed"] else f"{s['metric']} = {s['mean']:.4g} > {s['threshold']:g}"
        cases.append(JunitCase(s["name"], f"scenario.{name}.slo", fail))
    write_junit(folder / "junit.xml", f"scenario {name} (live)", cases)


def _num(value: Any) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _html(run: LiveResult, live: LiveMeasures, summary: dict[str, Any]) -> HtmlReport:
    from scenarios import plots

    spec, plan, res = run.plan.spec, run.plan, live.result
    report = HtmlReport(
        f"Scenario {spec.name} (live)",
        subtitle=(
            f"{spec.description} Mode live against the {run.sut['kind']} middleware, seed "
            f"{spec.seed}; speed {plan.speed:g}x, volume: {len(plan.arrivals_s)} of "
            f"{plan.drawn} deals the profile drew (scale {plan.scale:g}, max {plan.max_deals}); "
            f"{run.wall_s:.1f} s wall."
        ),
    )
    bad = len(run.verdict.violations)
    report.verdict(
        summary["passed"],
        f"{bad} oracle violation(s); "
        f"{sum(1 for s in summary['points'][0]['slos'] if s['passed'] is False)} "
        "SLO(s) failed",
        summary["verdict"].upper(),
    )
    report.section("SLOs").paragraph(f"Rule: {LIVE_RULE}.").table(
        ["SLO", "metric", "flow", "live value", "threshold", "unit", "result"],
        [
            (
                s["name"],
                s["metric"],
                s["flow"] or "all (worst flow)",
                _num(s["mean"]),
                f"<= {s['threshold']:g}",
                s["unit"],
                "not applied" if not s["applied"] else "pass" if s["passed"] else "FAIL",
            )
            for s in summary["points"][0]["slos"]
        ],
    )
    report.section("Oracle").table(INVARIANT_COLUMNS, invariant_rows(run.verdict))
    if bad:
        report.section("Violations").table(
            ["invariant", "what", "correlation id"],
            [
                (v.invariant, v.message, v.correlation_id or "")
                for v in run.verdict.violations[:200]
            ],
        )
    report.section("Backlog over the timeline").figure(
        plots.backlog_figure([res]),
        caption="open flow jobs from event times (a deal awaiting "
        "its order, an order its entitlement, an invoice its AR invoice); held upstream: "
        "webhook deliveries pending; waiting to retry: the middleware's parked jobs; shaded: "
        "fault windows",
    )
    report.section("Latency over the timeline").figure(
        plots.latency_timeline_figure([res], live.jobs),
        caption="each completed job's latency at the moment it started; shaded: fault windows",
    )
    for i, _w in enumerate(res.windows):
        report.section(f"Fault window {i + 1}").figure(plots.fault_zoom_figure([res], i))
    report.section("Latency per flow").figure(plots.latency_figure([res])).table(
        ["flow", "completed", "never completed", "p50 (s)", "p95 (s)", "p99 (s)"],
        [
            (
                f,
                m["completed"],
                m["never_completed"],
                _num(m["latency_p50_s"]),
                _num(m["latency_p95_s"]),
                _num(m["latency_p99_s"]),
            )
            for f, m in res.flows.items()
        ],
    )
    seen = live.seen
    report.section("Retries, redeliveries and faults fired").table(
        ["what", "count"],
        [
            ("requests answered 429/5xx/dropped/lost", sum(seen["failed_requests"].values())),
            ("requests a fault rule hit", sum(seen["faulted_requests"].values())),
            ("idempotent replays", sum(seen["idempotent_replays"].values())),
            ("webhook delivery attempts", seen["delivery_attempts"]),
            ("webhook redeliveries (attempt > 1)", seen["redeliveries"]),
            ("deliveries a fault rule hit", seen["faulted_deliveries"]),
            ("middleware dead letters", _num(seen["dead_letters"])),
        ],
    ).table(
        ["system", "fault", "rule", "fired", "from"],
        [
            (f["system"], f["what"].removesuffix("_ended"), f["rule"], f["fired"], f["source"])
            for f in seen["faults_fired"]
        ],
    )
    report.section("Side by side: live and simulated").paragraph(
        "The simulated model on the same file, its arrivals scaled to this run's volume "
        "(mean of its replications); inf: some jobs never completed."
    ).table(
        ["metric", "flow", "unit", "live", "simulated"],
        [
            (r["metric"], r["flow"] or "", r["unit"], _num(r["live"]), _num(r["simulated"]))
            for r in summary["side_by_side"]
        ],
    )
    report.section("Not applied in live mode").table(
        ["field", "value", "set by the file", "why"],
        [
            (n["field"], n["value"][:120], n["set_by_file"], n["why"])
            for n in summary["not_applied"]
        ],
    )
    report.section("Scenario").preformatted(json.dumps(spec.model_dump(mode="json"), indent=2))
    return report


def write_report(
    folder: Path,
    run: LiveResult,
    live: LiveMeasures,
    side: list[dict[str, Any]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Write summary.json, junit.xml and report.html; the summary."""
    slos = evaluate(run.plan.spec, live)
    summary = _summary(run, live, slos, side, meta)
    (folder / "summary.json").write_text(to_json(summary), encoding="utf-8")
    _junit(folder, run, slos)
    _html(run, live, summary).write(folder / "report.html")
    return summary
