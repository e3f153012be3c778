"""Calibration end to end: a small live run (estate + reference middleware + deals, loopback)
calibrates a simulation that reproduces the run's latency per flow (docs/calibration.md).

Tolerance (README, "Calibrating a simulation from a live run"): the simulated mean within
25 % of the live mean, the simulated p95 within 40 % of the live p95, per flow. Why: the
live side is ``_DEALS`` runs on a shared machine, so its mean carries a few percent of
sampling error and its p95 is the second or third largest run, noisy by tens of percent;
and the model draws each step independently, while live steps of one deal are correlated
(a busy moment slows all of them), which narrows the simulated tail. A calibration that
is wrong (a step missing, service times in the wrong unit, steps not adding up) misses
by far more: several times the latency.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from examples.run import new_webhook_secret, register_webhooks, start_sut, sut_env
from golive.cli import exit_status
from golive.demo_deals import close_deal, seed_accounts, seed_catalogue
from golive.drain import MiddlewareWork, wait_drained
from golive.estateclock import EstateClock, parse_utc
from scenarios.calibration import calibrate
from scenarios.catalog import load_scenario
from scenarios.model import simulate
from scenarios.rawdump import dump_raw
from scenarios.spec import ScenarioSpec
from simulators.estate import Estate, running_estate

_DEALS = 36
# Month ends the live run goes through: each is one batch of ``_DEALS`` invoices, and one
# batch's mean is one queue's luck (a pause of the busy machine early in the batch delays
# every invoice after it); two halve that (docs/calibration.md, "How close it gets").
_MONTH_ENDS = 2
MEAN_TOLERANCE = 0.25
P95_TOLERANCE = 0.40
_FLOWS = ("close_to_order", "order_to_subscription", "order_to_entitlement")
# The simulated run: the live run's flows at a pace that queues nothing, long enough for
# a steady p95 (about 700 deals), no faults.
_BASE = {
    "name": "calibration-check", "seed": 1, "duration_hours": 2, "drain_hours": 0.5,
    "sample_interval_s": 60,
    "arrivals": {"baseline_deals_per_hour": 360, "business_hours": None,
                 "month_end": {"multiplier": 1}, "quarter_end": {"multiplier": 1}},
    "flows": {"invoice_to_ar_invoice": {"enabled": False, "steps": ["erp.create_ar_invoice"]}},
}  # fmt: skip
# The month end: the same, with the invoice flow.
_MONTH_END_BASE = {k: v for k, v in _BASE.items() if k != "flows"}
# Its simulated run: the live run's batch (``_DEALS`` invoices at one 00:00 UTC) every day
# for 20 days, about 700 invoices; no limits, as the live estate had none.
_DAILY = {
    "start": "2030-01-01T00:00:00Z", "duration_hours": 480, "drain_hours": 30,
    "arrivals": {"baseline_deals_per_hour": _DEALS / 24, "business_hours": None,
                 "month_end": {"multiplier": 1}, "quarter_end": {"multiplier": 1}},
}  # fmt: skip


def _wait_for_entitlement(estate: Estate, deal: str) -> None:
    """Until the middleware has created the deal's entitlement (its last call)."""
    deadline = time.monotonic() + 15
    params = {"correlation_id": deal, "path": "/entitlements", "method": "POST"}
    while time.monotonic() < deadline:
        rows = httpx.get(f"{estate.url('support')}/_sim/journal", params=params,
                         headers=estate.admin_headers, timeout=5).json()["data"]  # fmt: skip
        if any(r["status"] == 201 for r in rows):
            return
        time.sleep(0.01)
    raise AssertionError(f"no entitlement for deal {deal} within 15 s")


def _dump(estate: Estate, report: Path, base: dict[str, Any]) -> Path:
    report.mkdir(parents=True, exist_ok=True)
    (report / "base.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    with httpx.Client(headers=estate.admin_headers, timeout=60) as admin:
        dump_raw(estate.urls, report, client=admin,
                 notes={"scenario": str(report / "base.yaml")})  # fmt: skip
    return report


@pytest.fixture(scope="module")
def live_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two report folders with raw/: ``_DEALS`` deals closed one after the other; then the
    same estate moved on to the day their first billing period ends, when billing's
    invoice run finalises all their invoices at 00:00 UTC at once."""
    root = tmp_path_factory.mktemp("live")
    rng = random.Random(9)
    with running_estate(seed=9) as estate, tempfile.TemporaryDirectory() as state, \
            EstateClock(estate.urls, estate.admin_headers) as clock:  # fmt: skip
        clock.freeze(max(parse_utc(v["now"]) for v in clock.show().values()) + timedelta(0, 5))
        secret = new_webhook_secret()
        sut = start_sut("reference", sut_env(estate.urls, secret), state_dir=Path(state),
                        poll_s=0.02)  # fmt: skip
        try:
            register_webhooks(estate.urls, sut.url, secret)
            with estate.client("crm") as crm, estate.client("cpq") as cpq, \
                    estate.client("erp") as erp:  # fmt: skip
                book = seed_catalogue(cpq, erp)
                accounts = seed_accounts(crm, rng, _DEALS)
                for i in range(_DEALS):
                    deal = close_deal(crm, cpq, book, accounts[i], rng, "2030-01-31T09:00:00Z")
                    _wait_for_entitlement(estate, deal.opportunity_id)
            deals = _dump(estate, root / "deals", _BASE)
            for _ in range(_MONTH_ENDS):
                with estate.client("billing") as billing:
                    subs = billing.get("/subscriptions", params={"limit": 100}).json()["data"]
                (period_end,) = {s["current_period_end"] for s in subs}  # one day: one batch
                with MiddlewareWork(sut) as working:
                    clock.advance(to=f"{period_end}T01:00:00Z", quiet_s=0.1,
                                  settle_limit_s=30, outside_busy=working)  # fmt: skip
                assert wait_drained(estate, sut, 30).settled
            month_end = _dump(estate, root / "month-end", _MONTH_END_BASE)
        finally:
            sut.stop()
    return deals, month_end


@pytest.fixture(scope="module")
def live_run(live_runs: tuple[Path, Path]) -> Path:
    return live_runs[0]


def test_a_calibrated_simulation_reproduces_the_live_latency_per_flow(live_run: Path) -> None:
    cal = calibrate(live_run)  # the base scenario named in the raw notes
    assert sorted(cal.calibrated_flows) == sorted(_FLOWS)
    for flow in _FLOWS:
        assert cal.observed[flow]["n"] == _DEALS
    sim = simulate(cal.spec).flows
    for flow in _FLOWS:
        live, simulated = cal.observed[flow], sim[flow]
        assert simulated["completed"] > 500
        assert simulated["latency_mean_completed_s"] == pytest.approx(
            live["mean_s"], rel=MEAN_TOLERANCE), flow  # fmt: skip
        assert simulated["latency_p95_s"] == pytest.approx(live["p95_s"], rel=P95_TOLERANCE), flow


def test_calibrate_cli_writes_a_scenario_that_loads(
    live_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "calibrated.yaml"
    code = exit_status(["scenario", "calibrate", "--from", str(live_run), "--out", str(out),
                        "--scenario", str(live_run / "base.yaml")])  # fmt: skip
    output = capsys.readouterr().out
    assert code == 0, output
    assert "close_to_order" in output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Calibrated by `golive scenario calibrate`")
    spec = load_scenario(str(out))
    assert spec.name == "base-calibrated"
    steps = spec.flows["close_to_order"].steps
    assert steps[-1] == "erp.post_sales_orders"  # the call that creates the order
    assert spec.systems["erp"].operations["post_sales_orders"].distribution == "empirical"
    assert spec.events.webhook_latency_ms == 0


def _daily_batches(spec: ScenarioSpec, invoice_run: str) -> ScenarioSpec:
    """The calibrated file over 20 daily batches; ``delay``: each invoice on its own (no
    batch, so no batch's pickup either)."""
    data = spec.model_dump(mode="json")
    data.update(_DAILY)
    data["faults"] = []
    data["events"].update(invoice_run=invoice_run, invoice_delay_s=0)
    if invoice_run == "delay":
        data["events"]["invoice_run_pickup_ms"] = 0
    data["flows"]["invoice_to_ar_invoice"]["enabled"] = True
    for system in data["systems"].values():
        system.update(rate_limit_per_s=None, concurrency_limit=1000)
    return ScenarioSpec.model_validate(data)


def test_a_calibrated_simulation_reproduces_the_month_end_invoice_flow(
    live_runs: tuple[Path, Path],
) -> None:
    """Invoice -> AR invoice: billing finalises a day's invoices at once; the middleware
    takes in the batch's deliveries, then works the invoices off one after another. The
    calibration measures that lead (the batch's pickup, which grows with the machine's
    load) and each job's own time (from the end of the middleware's previous call); the
    model's daily invoice run waits the one and queues the others again: the same
    tolerances as the other flows (docs/calibration.md, "Invoices: billing's invoice run")."""
    cal = calibrate(live_runs[1])
    flow = "invoice_to_ar_invoice"
    assert flow in cal.calibrated_flows
    assert cal.spec.events.invoice_run == "daily"
    pickup_ms = cal.spec.events.invoice_run_pickup_ms
    assert 0 < pickup_ms < 1000 * cal.observed[flow]["mean_s"]  # a part of every latency
    live = cal.observed[flow]
    assert live["n"] == _DEALS * _MONTH_ENDS
    sim = simulate(_daily_batches(cal.spec, "daily")).flows[flow]
    assert sim["completed"] > 500
    assert sim["latency_mean_completed_s"] == pytest.approx(live["mean_s"], rel=MEAN_TOLERANCE)
    assert sim["latency_p95_s"] == pytest.approx(live["p95_s"], rel=P95_TOLERANCE)
    # The queue is the latency: the same fit with each invoice issued on its own (no
    # batch) misses the live mean by far.
    alone = simulate(_daily_batches(cal.spec, "delay")).flows[flow]
    assert alone["latency_mean_completed_s"] < 0.5 * live["mean_s"]


def test_calibrate_cli_says_and_writes_the_invoice_runs_pickup(
    live_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "month-end.yaml"
    code = exit_status(["scenario", "calibrate", "--from", str(live_runs[1]), "--out", str(out)])
    output = capsys.readouterr().out
    assert code == 0, output
    spec = load_scenario(str(out))
    assert spec.events.invoice_run == "daily"
    assert spec.events.invoice_run_pickup_ms > 0
    assert f"invoice run pickup: {spec.events.invoice_run_pickup_ms:g} ms" in output
    text = out.read_text(encoding="utf-8")
    assert "# Invoice runs (batches): issued at, invoices, lead to the first call:" in text
    # One line per batch: the run's occurred_at (00:00 UTC), its invoices, its lead.
    assert re.search(rf"#   \d{{4}}-\d\d-\d\dT00:00:00\.0+Z: {_DEALS}, [\d.]+ ms\n", text), text
