"""What ``golive demo`` saw, and its report: ``report.html`` (one self-contained file with
an inlined timeline plot), ``summary.json`` and ``junit.xml`` (README, "golive demo")."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from golive.estateclock import parse_utc
from golive.reconcile import INVARIANT_COLUMNS, invariant_rows, write_junit_report
from golive.report import HtmlReport
from scenarios.oracle import Snapshot
from simulators.estate import Estate
from simulators.registry import SYSTEMS

if TYPE_CHECKING:
    from golive.demo import DemoResult
    from golive.demo_deals import Deal

__all__ = ["collect_facts", "timeline_figure", "write_reports"]

_COLOURS = {
    "crm": "#1f77b4",
    "cpq": "#9467bd",
    "billing": "#2ca02c",
    "support": "#ff7f0e",
    "erp": "#d62728",
}
_SHADE = {"outage": "#d62728", "duplicate": "#1f77b4"}


def _get(estate: Estate, system: str, path: str, **params: Any) -> Any:
    response = httpx.get(
        f"{estate.url(system)}{path}", params=params, headers=estate.admin_headers, timeout=30
    )
    response.raise_for_status()
    return response.json()


def _events(estate: Estate, system: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with estate.client(system) as client:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"after": after} if after else {})}
            body = client.get("/events", params=params).json()
            found += body.get("data", [])
            after = body.get("next_cursor")
            if not after:
                return found


def collect_facts(
    estate: Estate,
    snapshot: Snapshot,
    deals: list[Deal],
    status: dict[str, Any] | None,
    advance: dict[str, Any],
) -> dict[str, Any]:
    """Events per system, faults fired, webhook attempts, the middleware's status."""
    events = {
        s: [(e["type"], e.get("occurred_at") or "") for e in _events(estate, s)] for s in SYSTEMS
    }
    faults = []
    deliveries: dict[str, dict[str, int]] = {}
    for system in SYSTEMS:
        for rule in _get(estate, system, "/_sim/faults")["data"]:
            window = rule.get("window") or {}
            faults.append(
                {
                    "system": system,
                    "kind": rule["kind"],
                    "id": rule["id"],
                    "start": window.get("start"),
                    "end": window.get("end"),
                    "fired": rule.get("fired", 0),
                }
            )
        attempts = _get(estate, system, "/_sim/deliveries", limit=10_000)["data"]
        outcomes = Counter(a["outcome"] for a in attempts)
        deliveries[system] = {
            "attempts": len(attempts),
            "delivered": outcomes["delivered"],
            "retries": sum(1 for a in attempts if a["attempt"] > 1),
            "failed_attempts": outcomes["retrying"] + outcomes["failed"],
            "faulted": sum(1 for a in attempts if a.get("fault")),
        }
    objects = {
        t: len(snapshot.of(t))
        for t in ("sales_order", "subscription", "invoice", "payment", "ar_invoice", "receipt")
    }
    return {
        "deals": [vars(d) for d in deals],
        "events": events,
        "faults": faults,
        "deliveries": deliveries,
        "middleware": status,
        "advance": advance,
        "objects": objects,
        "estate_now": snapshot.now,
    }


def _times(stamps: list[str]) -> list[datetime]:
    return [parse_utc(s) for s in stamps if s]


def timeline_figure(facts: dict[str, Any], day_start: datetime, day_end: datetime) -> Figure:
    """Events per system over simulated time: the business day (faults shaded) and the
    whole run (cumulative, the month end marked)."""
    fig = Figure(figsize=(11, 7.5))
    day, month = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.1]})
    for row, system in enumerate(SYSTEMS):
        stamps = _times([at for _, at in facts["events"][system]])
        in_day = [t for t in stamps if day_start <= t <= day_end]
        day.scatter(
            in_day, [row] * len(in_day), s=14, marker="|", linewidths=1.2, color=_COLOURS[system]
        )
        ordered = sorted(stamps)
        if ordered:
            month.step(
                ordered,
                range(1, len(ordered) + 1),
                where="post",
                color=_COLOURS[system],
                label=f"{system} ({len(ordered)})",
            )
    for fault in facts["faults"]:
        if fault["start"] and fault["end"]:
            start, end = parse_utc(fault["start"]), parse_utc(fault["end"])
            colour = _SHADE.get(fault["kind"], "#7f7f7f")
            alpha = 0.25 if fault["kind"] == "outage" else 0.07
            day.axvspan(
                start,
                end,
                color=colour,
                alpha=alpha,
                label=f"{fault['kind']} on {fault['system']} (fired {fault['fired']})",
            )
    day.set_yticks(range(len(SYSTEMS)), list(SYSTEMS))
    day.set_ylim(-0.7, len(SYSTEMS) - 0.3)
    day.set_xlim(day_start, day_end)
    day.xaxis.set_major_formatter(DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    day.set_title(f"The business day, {day_start:%Y-%m-%d} (simulated UTC): events per system")
    day.legend(loc="upper right", fontsize=8, framealpha=0.9)
    month_end = (day_start.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0)
    month.axvline(
        month_end,
        color="#444",
        linestyle="--",
        linewidth=1,
        label="month end",
    )
    month.xaxis.set_major_formatter(DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
    month.set_title("The whole run: cumulative events per system")
    month.set_ylabel("events")
    month.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _summary(result: DemoResult) -> dict[str, Any]:
    facts = result.facts
    return {
        "ok": result.ok,
        "sut": facts["sut"],
        "seed": facts["seed"],
        "seconds": facts["seconds"],
        "deals": len(result.deals),
        "events": {s: len(v) for s, v in facts["events"].items()},
        "faults": facts["faults"],
        "deliveries": facts["deliveries"],
        "middleware": facts["middleware"],
        "objects": facts["objects"],
        "declining_card": facts["decliner"],
        "advance": facts["advance"],
        "drain": facts["drain"],
        "verdict": result.verdict.to_dict(),
    }


def _drained(drain: dict[str, Any]) -> str:
    """How the last wait for the middleware ended (golive/drain.py)."""
    if drain["outcome"] == "settled":
        return f"The middleware had nothing left to do after {drain['seconds']} s."
    why = "nothing moved any more" if drain["outcome"] == "still" else "the wait reached its limit"
    return f"Reconciled without waiting longer: {why} ({drain['left']})."


def _money(minor: int) -> str:
    return f"${minor / 100:,.2f}"


def write_reports(result: DemoResult) -> list[Path]:
    """``report.html``, ``summary.json`` and ``junit.xml`` in ``result.out``."""
    from golive.demo import _CLOSE_H, _OPEN_H, DAY

    facts, verdict, out = result.facts, result.verdict, result.out
    (out / "summary.json").write_text(
        json.dumps(_summary(result), indent=2) + "\n", encoding="utf-8"
    )
    write_junit_report(verdict, out / "junit.xml")
    n = len(verdict.violations)
    report = HtmlReport(
        f"golive demo: the {facts['sut']} middleware",
        subtitle=f"seed {facts['seed']}, {len(result.deals)} deals, "
        f"{facts['seconds']} s; estate as of {facts['estate_now']}",
    )
    report.verdict(
        result.ok,
        "the estate reconciles"
        if result.ok
        else f"{n} violation{'s' if n != 1 else ''} of the invariants",
    )
    total = sum(d.total_minor for d in result.deals)
    approvals = sum(1 for d in result.deals if d.approved_by)
    report.section("What happened").paragraph(
        f"{len(result.deals)} deals closed won between {_OPEN_H:02d}:00 and {_CLOSE_H:02d}:00 "
        f"({_money(total)} in total, {approvals} needed a discount approval); an ERP outage "
        f"and duplicate CRM webhook deliveries were injected; {facts['decliner']} was given "
        "a declining card; then the estate clock advanced through the month end to "
        f"{facts['advance']['reached']}"
        + (" (cut off: the middleware kept failing)." if facts["advance"].get("cut_off") else ".")
        + " "
        + _drained(facts["drain"])
    ).table(["object", "count"], sorted(facts["objects"].items()))
    report.section("Timeline").figure(
        timeline_figure(facts, DAY.replace(hour=_OPEN_H - 1), DAY.replace(hour=_CLOSE_H + 1)),
        "Each tick an event; shaded: the fault windows (red the ERP outage, blue the "
        "duplicate deliveries on CRM). Below: the whole run, the month end dashed.",
    )
    rows = [
        [
            s,
            len(v),
            facts["deliveries"][s]["attempts"],
            facts["deliveries"][s]["delivered"],
            facts["deliveries"][s]["retries"],
            facts["deliveries"][s]["failed_attempts"],
            facts["deliveries"][s]["faulted"],
        ]
        for s, v in facts["events"].items()
    ]
    report.section("Events and webhook deliveries per system").table(
        [
            "system",
            "events",
            "delivery attempts",
            "delivered",
            "retries",
            "failed attempts",
            "faulted (duplicates)",
        ],
        rows,
    )
    report.section("Faults").table(
        ["system", "kind", "window (simulated)", "fired"],
        [
            [f["system"], f["kind"], f"{f['start']} to {f['end']}", f["fired"]]
            for f in facts["faults"]
        ],
    )
    mw = facts["middleware"]
    mw_section = report.section("Middleware")
    if mw:
        mw_section.table(
            ["done", "queue", "parked", "dead letters (DLQ)", "breakers"],
            [
                [
                    mw.get("done", 0),
                    mw.get("queue_depth", 0),
                    mw.get("parked", 0),
                    mw.get("dlq", 0),
                    json.dumps(mw.get("breakers", {})),
                ]
            ],
        )
    else:
        mw_section.paragraph("This middleware has no /status: no queue, no dead letters.")
    report.section("Verdict: invariants").table(INVARIANT_COLUMNS, invariant_rows(verdict))
    if n:
        report.section("Violations").table(
            ["invariant", "what", "ids", "correlation id"],
            [
                [v.invariant, v.message, ", ".join(v.ids), v.correlation_id or ""]
                for v in verdict.violations
            ],
        )
    report.section("Deals").table(
        ["opportunity", "account", "closed at", "discount", "approved by", "total"],
        [
            [
                d.opportunity_id,
                d.account_name,
                d.closed_at[11:16],
                f"{d.discount_bps / 100:g} %",
                d.approved_by or "",
                _money(d.total_minor),
            ]
            for d in result.deals
        ],
    )
    html = report.write(out / "report.html")
    return [html, out / "summary.json", out / "junit.xml"]
