"""Live scenarios end to end, small and fast, on loopback: the reference middleware passes
``erp-outage`` and ``duplicate-storm``; the naive one fails them with the violations its
defects cause (docs/live-scenarios.md)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from golive.cli import exit_status
from golive.live.measure import measure
from golive.live.report import evaluate, oracle_slos, write_report
from golive.live.runner import LiveOptions, LiveResult, run_live
from lifecycle.dates import add_months
from scenarios.catalog import load_scenario
from scenarios.oracle import Slos
from simulators.estate import Estate

pytestmark = [pytest.mark.slow, pytest.mark.live]

_SPEED = 1_000_000.0  # as fast as the estate settles
_SETTLE_S = 0.5


def _run(
    estate: Estate, name: str, sut: str, deals: int, raw_dir: Path | None = None
) -> LiveResult:
    """A small fast run; the naive middleware answers each webhook slowly (a new client
    and token per call) and fails some again and again, so its runs settle less and skip
    the invoice run its defects do not need."""
    estate.reset()
    spec = load_scenario(name)
    options = LiveOptions(
        sut=sut,
        speed=_SPEED,
        max_deals=deals,
        targets=dict(estate.urls),
        slos=oracle_slos(spec, Slos()),
        settle_limit_s=_SETTLE_S if sut == "reference" else 0.2,
        react_s=_SETTLE_S if sut == "reference" else 0.2,
        invoice_run=sut == "reference",
        raw_dir=raw_dir,
        drain_limit_s=5.0,
    )
    return run_live(spec, options)


def _messages(run: LiveResult, invariant: str) -> list[str]:
    return [v.message for v in run.verdict.violations if v.invariant == invariant]


def _opportunities_closed_in_outage(run: LiveResult) -> list[str]:
    (window,) = run.plan.windows
    start, end = run.plan.estate_time(window.start_s), run.plan.estate_time(window.end_s)
    return [
        d.opportunity_id
        for d in run.deals
        if start.isoformat()[:19] <= d.closed_at[:19] < end.isoformat()[:19]
    ]


def test_the_reference_middleware_passes_erp_outage_live(estate: Estate, tmp_path: Path) -> None:
    run = _run(estate, "erp-outage", "reference", deals=9, raw_dir=tmp_path)
    assert run.verdict.ok, [v.message for v in run.verdict.violations]
    assert len(run.deals) == 9
    assert not run.unclosed
    in_outage = _opportunities_closed_in_outage(run)
    assert in_outage, "the plan closes a deal inside the outage"
    fired = {t["system"]: t["fired"] for t in run.timeline if t["what"] == "outage_ended"}
    assert fired["erp"] > 0  # the middleware met the outage on the wire
    live = measure(run)
    slos = {s["metric"]: s for s in evaluate(run.plan.spec, live)}
    assert all(s["passed"] for s in slos.values()), slos
    # The deal held by the outage got its order after it, hours later, and not lost.
    assert live.result.flows["close_to_order"]["latency_max_s"] > 0
    assert live.result.flows["close_to_order"]["never_completed"] == 0
    assert live.seen["failed_requests"]["erp"] >= fired["erp"]
    assert run.followed_to is not None  # on to the first invoice run: the AR flow happened
    assert run.verdict.result("ar_invoice_per_invoice").checked >= 1
    summary = write_report(tmp_path, run, live, [], {"command": "test"})
    on_disk = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["mode"] == "live"
    assert on_disk["live"]["paced"] is False  # speed 1e6: every step settles instead
    assert on_disk["passed"] is True == summary["passed"]
    assert on_disk["points"][0]["slos"][0]["name"] == run.plan.spec.slos[0].name
    assert any(n["field"] == "middleware.workers" for n in on_disk["not_applied"])
    assert 'failures="0"' in (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert "data:image/png;base64" in (tmp_path / "report.html").read_text(encoding="utf-8")
    # The calibration dump, written before the estate stopped.
    assert run.raw == f"written to {tmp_path / 'raw'}"
    manifest = json.loads((tmp_path / "raw" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["notes"]["scenario"] == "erp-outage"
    assert manifest["systems"]["erp"]["counts"]["journal"] > 0


def test_the_naive_middleware_fails_erp_outage_with_the_violations_of_its_defects(
    estate: Estate,
) -> None:
    run = _run(estate, "erp-outage", "naive", deals=5)
    assert not run.verdict.ok
    orders = _messages(run, "order_per_deal")
    (held,) = _opportunities_closed_in_outage(run)
    # No retries: the deal closed in the outage failed at the ERP and the naive middleware
    # handed the failure back (500) until the simulator's redelivery came after the window.
    erp_events = {
        e["id"]
        for e in run.snapshot.events
        if e.get("type") == "opportunity.closed_won" and e["data"]["id"] == held
    }
    attempts = [a for a in run.deliveries["crm"] if a["event_id"] in erp_events]
    assert attempts[0]["status"] == 500, attempts
    assert attempts[-1]["outcome"] == "delivered"
    # No external ids: nothing can find (or dedupe) the order by the opportunity id.
    assert (
        f"ERP sales order {_order_of(orders, held)} of opportunity {held} has external_id "
        "None, not the opportunity id" in orders
    )
    # No look-ups: a second deal of a known account fails half-way (409 on the support
    # organization) and every redelivery makes its ERP sales order again.
    seen: set[str] = set()
    repeat = []
    for deal in run.deals:
        if deal.account_id in seen:
            repeat.append(deal.opportunity_id)
        seen.add(deal.account_id)
    assert repeat
    duplicated = [
        o
        for o in repeat
        if any(
            re.fullmatch(rf"closed-won opportunity {o} has \d+ ERP sales orders: .*", m)
            for m in orders
        )
    ]
    assert duplicated == repeat, orders


def _order_of(messages: list[str], opportunity_id: str) -> str:
    for m in messages:
        found = re.fullmatch(rf"ERP sales order (\S+) of opportunity {opportunity_id} .*", m)
        if found:
            return found.group(1)
    return "(none)"


def _golive_live(
    estate: Estate, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, dict[str, Any]]:
    """``golive scenario run ... --mode live`` attached to the module's estate through a
    golive.toml target; exit code, output and summary.json."""
    estate.reset()
    config = tmp_path / "golive.toml"
    urls = "\n".join(f'{s} = "{u}"' for s, u in estate.urls.items())
    config.write_text(f"[targets.here]\n{urls}\n", encoding="utf-8")
    out = tmp_path / "report"
    code = exit_status(
        [
            "scenario",
            "run",
            *args,
            "--mode",
            "live",
            "--config",
            str(config),
            "--target",
            "here",
            "--speed",
            str(_SPEED),
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return code, captured.out + captured.err, summary


def test_the_reference_middleware_passes_duplicate_storm_live(
    estate: Estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, summary = _golive_live(
        estate, tmp_path, capsys, "duplicate-storm", "--max-deals", "8", "--settle", "0.5"
    )
    assert code == 0, output
    assert "PASS: every invariant holds" in output
    assert summary["passed"] is True
    fired = [f for f in summary["live"]["seen"]["faults_fired"] if f["what"] == "duplicate_ended"]
    assert sum(f["fired"] for f in fired) > 0  # duplicates really were delivered
    assert summary["points"][0]["totals"]["duplicates_reached"] == 0
    # The model ran the same file side by side, metric by metric.
    side = {(r["metric"], r["flow"]): r for r in summary["side_by_side"]}
    assert side[("duplicates_reached", None)]["live"] == 0
    assert side[("latency_p95_s", "close_to_order")]["simulated"] is not None
    assert "not applied in live mode: middleware.workers, middleware.idempotency" in output


def test_the_naive_middleware_fails_duplicate_storm_with_duplicates_reached(
    estate: Estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, summary = _golive_live(
        estate,
        tmp_path,
        capsys,
        "duplicate-storm",
        "--sut",
        "naive",
        "--max-deals",
        "4",
        "--settle",
        "0.2",
        "--no-invoice-run",
        "--no-compare",
    )
    assert code == 1, output
    assert "order_per_deal" in output.splitlines()[-1]
    assert "SLO(s) failed: no duplicate object in any system" in output
    messages = [v["message"] for i in summary["oracle"]["invariants"] for v in i["violations"]]
    twice = [
        m
        for m in messages
        if re.search(r"has \d+ (ERP sales orders|billing subscriptions|entitlements)", m)
    ]
    assert twice, messages
    slos = {s["metric"]: s for s in summary["points"][0]["slos"]}
    assert slos["duplicates_reached"]["passed"] is False
    assert slos["duplicates_reached"]["mean"] >= len(twice)


def test_through_renewal_the_oracle_judges_every_invoice_of_the_renewed_term(
    estate: Estate,
) -> None:
    """``--through-renewal`` follows the clock through twelve invoice runs to each deal's
    renewal and the renewed term's first invoice, which the oracle then judges."""
    estate.reset()
    spec = load_scenario("erp-outage")
    options = LiveOptions(sut="reference", speed=_SPEED, max_deals=2, targets=dict(estate.urls),
                          slos=oracle_slos(spec, Slos()), settle_limit_s=_SETTLE_S,
                          react_s=_SETTLE_S, through_renewal=True, drain_limit_s=5.0)  # fmt: skip
    run = run_live(spec, options)
    # Everything holds through the renewal: every invoice has its AR invoice, every
    # payment its receipt, and the entitlement support expired at 00:00 of the term's end
    # (the instant billing renewed) was renewed by the middleware's new end date
    # (docs/live-scenarios.md, "Renewals").
    assert run.verdict.ok, [v.message for v in run.verdict.violations]
    assert run.verdict.result("entitlement_per_deal").checked == 2
    subs = run.snapshot.of("subscription")
    assert len(subs) == 2
    ents = run.snapshot.of("entitlement")
    assert [e["status"] for e in ents] == ["active", "active"]
    # To the end of the renewed 12-month term, which starts at the renewal.
    starts = [e["data"]["current_period_start"][:10] for e in run.snapshot.events
              if e["type"] == "subscription.renewed"]  # fmt: skip
    terms = {f"{int(start[:4]) + 1}{start[4:]}" for start in starts}
    assert {e["end_date"] for e in ents} == terms
    expired_then_renewed = [
        e["data"]["id"] for e in run.snapshot.events if e["type"] == "entitlement.expired"
    ]
    assert sorted(expired_then_renewed) == sorted(e["id"] for e in ents)
    renewed = {e["data"]["id"] for e in run.snapshot.events if e["type"] == "subscription.renewed"}
    assert renewed == {s["id"] for s in subs}
    invoices = [i for i in run.snapshot.of("invoice") if i["status"] in ("open", "paid")]
    # Twelve periods of the first term, then the renewed term's first one, per deal.
    renewal = [i for i in invoices if i["period_start"] >= _term_end(subs, i)]
    assert len(renewal) == 2
    assert len(invoices) == 2 * 13
    assert run.verdict.result("ar_invoice_per_invoice").checked == len(invoices)
    assert run.verdict.result("receipt_per_payment").checked == len(invoices)  # all paid
    ar_of = {a["external_id"] for a in run.snapshot.of("ar_invoice")}
    assert {i["id"] for i in renewal} <= ar_of  # the ERP got the renewal invoices too
    assert run.followed_to is not None
    assert run.followed_to[:10] >= max(i["period_end"] for i in renewal)


def _term_end(subs: list[dict[str, Any]], invoice: dict[str, Any]) -> str:
    (sub,) = [s for s in subs if s["id"] == invoice["subscription_id"]]
    start = date.fromisoformat(sub["start_date"])
    return add_months(start, int(sub["term_months"])).isoformat()
