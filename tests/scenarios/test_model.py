"""The estate model: seeded, event-emitting, and faithful to the faults it is given."""

from __future__ import annotations

import pytest

from scenarios import events as ev
from scenarios.catalog import load_scenario
from scenarios.model import EstateModel, simulate
from scenarios.profile import expected_deals
from scenarios.spec import ScenarioSpec


def test_same_seed_gives_identical_results_and_another_seed_does_not(small_erp_outage):
    a, b = simulate(small_erp_outage, 0), simulate(small_erp_outage, 0)
    assert a.to_dict() == b.to_dict()
    assert simulate(small_erp_outage, 1).to_dict() != a.to_dict()


def test_engine_emits_past_tense_events_and_never_prints(small_erp_outage, capsys):
    seen: list[ev.EngineEvent] = []
    simulate(small_erp_outage, 0, listener=seen.append)
    kinds = {type(e) for e in seen}
    assert {ev.OutageStarted, ev.OutageEnded, ev.DeliveryRetried, ev.CircuitOpened} <= kinds
    started = next(e for e in seen if isinstance(e, ev.OutageStarted))
    assert (started.system, started.duration_s) == ("erp", 7200)
    assert capsys.readouterr() == ("", "")


def test_outage_builds_a_backlog_that_drains_after_recovery(small_erp_outage):
    res = simulate(small_erp_outage, 0)
    assert res.totals["max_backlog"] > 50
    assert 0 < res.totals["drain_minutes"] < 60
    assert res.series["backlog"][-1] == 0


def test_quarter_end_multiplier_raises_arrivals_tenfold_over_the_last_days():
    spec = load_scenario("quarter-end-spike")
    day_s = 86400.0
    from datetime import timedelta

    normal = expected_deals(spec.arrivals, spec.start, 7 * day_s) / 7
    ordinary_week = spec.arrivals.model_copy(update={"quarter_end": spec.arrivals.month_end})
    baseline = expected_deals(ordinary_week, spec.start, 7 * day_s) / 7
    assert normal > baseline
    last3 = expected_deals(spec.arrivals, spec.start + timedelta(days=4), 3 * day_s)
    first3 = expected_deals(spec.arrivals, spec.start + timedelta(days=-7), 3 * day_s)
    assert 6 < last3 / first3 < 14  # 10x, give or take weekdays vs weekends


def test_webhook_down_delays_orders_but_loses_none():
    spec = load_scenario("webhook-down")
    res = simulate(spec, 0)
    flow = res.flows["close_to_order"]
    assert flow["never_completed"] == 0
    assert flow["latency_max_s"] > 90 * 60 * 0.5
    assert res.totals["dead_letters"] == 0


def test_rate_limit_squeeze_forces_retries_honouring_retry_after():
    spec = load_scenario("rate-limit-squeeze", ["arrivals.baseline_deals_per_hour=40"])
    res = simulate(spec, 0)
    assert res.flows["close_to_order"]["retries"] > 0


def test_model_reads_no_private_simpy_attribute():
    import inspect
    import re

    from scenarios import _faults, _worker, model

    for module in (model, _worker, _faults):
        source = inspect.getsource(module)
        assert not re.search(r"\benv\._\w", source), module.__name__


def test_sim_events_counts_every_event_simpy_processed(small_erp_outage):
    from scenarios.model import EstateModel

    model = EstateModel(small_erp_outage, 0)
    steps = 0
    step = model.env.step

    def counting_step() -> None:
        nonlocal steps
        steps += 1
        step()

    model.env.step = counting_step  # type: ignore[method-assign]
    assert model.run().sim_events == steps > 0


def test_flows_are_routed_by_name():
    from scenarios.model import DOWNSTREAM, ISSUED_LATER, SOURCE
    from scenarios.spec import FLOWS

    assert DOWNSTREAM["close_to_order"] == ("order_to_subscription", "order_to_entitlement")
    assert DOWNSTREAM["order_to_subscription"] == ("invoice_to_ar_invoice",)
    assert set(ISSUED_LATER) == {"invoice_to_ar_invoice"}
    assert SOURCE["invoice_to_ar_invoice"] == "billing"
    assert set(DOWNSTREAM) == set(SOURCE) == set(FLOWS)


def test_invoices_wait_for_the_billing_run_and_stop_with_their_flow():
    spec = load_scenario("duplicate-storm", ["duration_hours=2", "drain_hours=1"])
    res = simulate(spec, 0)
    invoices = res.flows["invoice_to_ar_invoice"]
    assert invoices["completed"] > 0
    assert invoices["latency_p50_s"] < spec.events.invoice_delay_s * 2
    short = ["duration_hours=2", "drain_hours=1"]
    off = load_scenario("duplicate-storm", [*short, "flows.invoice_to_ar_invoice.enabled=false"])
    assert "invoice_to_ar_invoice" not in simulate(off, 0).flows


def _held_by_webhook_outage(spec, model) -> tuple[int, float]:
    """Deals the CRM emitted while its webhooks were down, and when the last is redelivered.

    Worked out from the documented redelivery policy, independently of the model.
    """
    (rule,) = spec.faults
    start = rule.start_offset_minutes * 60
    end = start + rule.duration_minutes * 60
    held, last = 0, end
    for t in model.arrivals:
        if start <= t < end:
            held += 1
            step, waited = spec.events.redelivery_base_delay_s, 0.0
            while t + waited < end:
                waited += step
                step = min(step * 2, spec.events.redelivery_max_delay_s)
            last = max(last, t + waited)
    return held, last - end


def test_backlog_and_drain_count_deals_held_upstream_by_a_webhook_outage():
    from scenarios.model import EstateModel

    spec = load_scenario("webhook-down")
    model = EstateModel(spec, 0)
    held, redelivered_after_s = _held_by_webhook_outage(spec, model)
    res = model.run()
    assert held > 100
    assert redelivered_after_s > 20 * 60
    assert res.totals["max_backlog"] >= held
    assert res.totals["drain_minutes"] * 60 >= redelivered_after_s
    assert max(res.series["upstream"]) >= held * 0.9  # thinned series: block means


def _half_dead_lettered():
    from tests.scenarios.conftest import mmc_spec

    # An ERP outage over the middle third of the hour, and no retries: those orders die.
    return mmc_spec(4, 1.0, 0.5, hours=1.5,
                    faults=[{"system": "erp", "kind": "outage", "start_offset_minutes": 30,
                             "duration_minutes": 30}],
                    middleware={"workers": 4, "retry": {"max_attempts": 1},
                                "circuit_breaker": {"enabled": False}},
                    slos=[{"name": "p95", "metric": "latency_p95_s",
                           "threshold": 3600}])  # fmt: skip


def test_jobs_that_never_complete_count_as_infinitely_slow_in_percentiles():
    import math

    import numpy as np

    res = simulate(_half_dead_lettered(), 0)
    flow = res.flows["close_to_order"]
    never = flow["never_completed"]
    share = never / (never + flow["completed"])
    assert 0.25 < share < 0.45
    assert flow["dead_letters"] == never
    assert math.isfinite(flow["latency_p50_s"])
    assert flow["latency_p75_s"] == flow["latency_p95_s"] == flow["latency_max_s"] == math.inf
    assert res.metric("latency_p95_s") == math.inf
    assert res.metric("latency_p95_s", "close_to_order") == math.inf
    # p50 is the median of all deals, the never-completed ones counted as slowest.
    model_lat = flow["latency_p50_s"]
    from scenarios.model import EstateModel

    m = EstateModel(_half_dead_lettered(), 0)
    m.run()
    done = np.frombuffer(m._lat[0], dtype=np.float64)[np.frombuffer(m._created[0], np.uint8) > 0]
    padded = np.concatenate([done, np.full(never, 1e30)])
    assert model_lat == np.percentile(padded, 50)


def test_summary_marks_never_completed_percentiles_and_fails_the_slo():
    import json
    import math

    from scenarios.runner import make_plan
    from scenarios.summary import aggregate, to_json

    spec = _half_dead_lettered()
    summary = aggregate(make_plan(spec, 2), [simulate(spec, 0), simulate(spec, 1)])
    (slo,) = summary["points"][0]["slos"]
    assert slo["mean"] == math.inf
    assert slo["passed"] is False
    text = to_json(summary)
    assert "Infinity" not in text
    stored = json.loads(text)["points"][0]
    assert stored["slos"][0]["mean"] is None
    assert stored["flows"]["close_to_order"]["never_completed"]["mean"] > 0


def test_each_fault_window_keeps_a_full_resolution_zoom_of_rise_and_drain(small_erp_outage):
    import numpy as np

    res = simulate(small_erp_outage, 0)
    (window,) = res.windows
    (rule,) = small_erp_outage.faults
    start = rule.start_offset_minutes * 60
    end = start + rule.duration_minutes * 60
    assert (window["start_s"], window["end_s"]) == (start, end)
    t = np.asarray(window["t_s"])
    assert t[0] < start
    assert t[-1] > end + res.totals["drain_minutes"] * 60
    assert set(np.diff(t)) == {small_erp_outage.sample_interval_s}  # not thinned
    backlog = np.asarray(window["backlog"])
    before, during = backlog[t < start], backlog[(t >= start) & (t < end)]
    assert during.max() > 10 * max(before.max(), 1)
    assert backlog[-1] <= max(before.max(), 1) * 2  # drained by the end of the zoom


def _batch_spec(invoice_run: str, drain_hours: float = 24, pickup_ms: float = 0) -> ScenarioSpec:
    """Deals over one working day, one worker, a fixed 100 ms AR-invoice call."""
    return ScenarioSpec.model_validate({
        "name": "invoice-run", "seed": 2, "start": "2030-01-07T06:00:00Z",
        "duration_hours": 12, "drain_hours": drain_hours,
        "arrivals": {"baseline_deals_per_hour": 4, "business_hours": None,
                     "month_end": {"multiplier": 1}, "quarter_end": {"multiplier": 1}},
        "middleware": {"workers": 1},
        "events": {"invoice_run": invoice_run, "invoice_delay_s": 0, "webhook_latency_ms": 0,
                   "invoice_run_pickup_ms": pickup_ms},
        "systems": {"erp": {"operations": {"create_ar_invoice": {
            "distribution": "fixed", "mean_ms": 100}}}},
    })  # fmt: skip


def test_a_daily_invoice_run_issues_the_days_invoices_at_once_and_they_queue():
    model = EstateModel(_batch_spec("daily"), 0)
    res = model.run()
    n = len(model.arrivals)
    assert n > 20
    daily = res.flows["invoice_to_ar_invoice"]
    assert daily["completed"] == n
    # All at 00:00 UTC, one worker: the k-th waits for k-1 others, 100 ms each.
    assert daily["latency_mean_completed_s"] == pytest.approx(0.1 * (n + 1) / 2, rel=0.02)
    assert daily["latency_max_s"] == pytest.approx(0.1 * n, rel=0.02)
    one_by_one = simulate(_batch_spec("delay"), 0).flows["invoice_to_ar_invoice"]
    # One by one, after each subscription, an invoice waits at most behind one deal.
    assert one_by_one["latency_mean_completed_s"] < 0.25 * daily["latency_mean_completed_s"]
    # The run is at the next midnight: a horizon ending before it sees no invoice.
    early = simulate(_batch_spec("daily", drain_hours=5), 0).flows["invoice_to_ar_invoice"]
    assert early["completed"] == 0


def test_every_invoice_of_a_batch_waits_the_runs_pickup_before_the_queue():
    """``invoice_run_pickup_ms``: the middleware's first call on the batch comes that long
    after the run; latency still counts from the run, so every invoice gains exactly it."""
    plain = EstateModel(_batch_spec("daily"), 0)
    n = len(plain.arrivals)
    base = plain.run().flows["invoice_to_ar_invoice"]
    picked = simulate(_batch_spec("daily", pickup_ms=250), 0).flows["invoice_to_ar_invoice"]
    assert picked["completed"] == base["completed"] == n
    assert picked["latency_mean_completed_s"] == pytest.approx(0.25 + 0.1 * (n + 1) / 2, rel=0.02)
    assert picked["latency_max_s"] == pytest.approx(base["latency_max_s"] + 0.25, abs=1e-6)
    assert picked["latency_p50_s"] == pytest.approx(base["latency_p50_s"] + 0.25, abs=1e-6)
    # The deals' own flows do not wait it: only the invoice run's batch does.
    closes = simulate(_batch_spec("daily", pickup_ms=250), 0).flows["close_to_order"]
    assert closes == simulate(_batch_spec("daily"), 0).flows["close_to_order"]
