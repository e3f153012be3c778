"""What calibration measures in a raw folder: flows, steps and service times on the wall
clock (docs/calibration.md, "What is measured"), on a hand-made run with known times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.calibration.observe import observe
from scenarios.rawdump import RawDump


def _call(method: str, path: str, start: float, ms: float, status: int = 201,
          corr: str = "opp_1", fault: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"method": method, "path": path, "wall_at": start, "duration_ms": ms,
            "status": status, "correlation_id": corr, "fault": fault}  # fmt: skip


def _sent(event_id: str, at: float, outcome: str = "delivered") -> dict[str, Any]:
    return {"event_id": event_id, "outcome": outcome, "wall_at": at}


def _raw() -> RawDump:
    journals = {
        "crm": [_call("PATCH", "/opportunities/opp_1", 99.9, 3, 200)],  # the sales rep
        "cpq": [_call("GET", "/quotes/q_1", 100.010, 2, 200)],
        "erp": [_call("POST", "/sales-orders", 100.020, 5),
                _call("POST", "/invoices", 200.010, 2),
                _call("GET", "/customers", 300.0, 1, 503, corr="opp_2"),
                _call("POST", "/sales-orders", 300.1, 1, corr="opp_2")],
        "billing": [_call("POST", "/subscriptions", 100.030, 4)],
        "support": [_call("POST", "/entitlements", 100.040, 3)],
    }  # fmt: skip
    events = {
        "crm": [{"id": "evt_crm_1", "type": "opportunity.closed_won", "data": {"id": "opp_1"}},
                {"id": "evt_crm_2", "type": "opportunity.closed_won", "data": {"id": "opp_2"}}],
        "billing": [
            {"id": "evt_billing_1", "type": "subscription.created",
             "data": {"id": "sub_1", "external_id": "opp_1"}},
            {"id": "evt_billing_2", "type": "invoice.finalized",
             "data": {"id": "in_1", "subscription_id": "sub_1"}},
        ],
    }  # fmt: skip
    deliveries = {
        "crm": [_sent("evt_crm_1", 100.5), _sent("evt_crm_1", 100.0, "retrying"),
                _sent("evt_crm_1", 99.0, "held"), _sent("evt_crm_2", 299.9)],
        "billing": [_sent("evt_billing_2", 200.0)],
    }  # fmt: skip
    by_kind = {
        "journal": {s: {"data": rows} for s, rows in journals.items()},
        "events": {s: {"data": rows} for s, rows in events.items()},
        "deliveries": {s: {"data": rows} for s, rows in deliveries.items()},
    }
    return RawDump(Path("."), {"systems": {s: {} for s in journals}}, by_kind)


def test_flows_start_at_the_first_attempt_and_end_at_the_creating_call() -> None:
    obs = observe(_raw())
    (order, bad) = obs.flows["close_to_order"]
    assert order.start == 100.0  # the first attempt made (the held one was not sent)
    assert order.latency_s == pytest.approx(0.025)
    assert order.service_ms() == [("cpq.get_quotes_item", pytest.approx(12.0)),
                                  ("erp.post_sales_orders", pytest.approx(13.0))]  # fmt: skip
    assert order.clean
    assert not bad.clean  # a 503 on the way
    (sub,) = obs.flows["order_to_subscription"]
    assert sub.latency_s == pytest.approx(0.009)
    (ent,) = obs.flows["order_to_entitlement"]
    assert ent.latency_s == pytest.approx(0.018)  # from the order, like the model's flow
    assert [s for s, _ in ent.service_ms()] == ["billing.post_subscriptions",
                                                "support.post_entitlements"]  # fmt: skip
    (inv,) = obs.flows["invoice_to_ar_invoice"]  # its deal by the subscription's external id
    assert inv.deal == "opp_1"
    assert inv.latency_s == pytest.approx(0.012)
    assert obs.sequence("close_to_order") == (["cpq.get_quotes_item", "erp.post_sales_orders"], 1)
    # The sales rep's call came before the deal's first flow: not the middleware's.
    assert all(c.method != "PATCH" for c in obs.calls)
    assert len(obs.calls) == 7


def test_with_one_worker_the_entitlement_steps_follow_the_subscription() -> None:
    (ent,) = observe(_raw(), serial=True).flows["order_to_entitlement"]
    assert ent.latency_s == pytest.approx(0.018)
    assert ent.service_ms() == [("support.post_entitlements", pytest.approx(9.0))]


def test_a_late_journal_end_does_not_lose_the_orders_flows() -> None:
    """The ERP was paused after answering the order: its journal end (100.035) is later
    than the middleware's next calls (100.028, 100.031); the order's flows start when the
    middleware had the answer, its next call, and none is lost."""
    raw = _raw()
    raw.by_kind["journal"]["erp"]["data"][0]["duration_ms"] = 15  # 100.020 .. 100.035
    raw.by_kind["journal"]["billing"]["data"] = [
        _call("GET", "/subscriptions", 100.028, 1, 200),
        _call("POST", "/subscriptions", 100.031, 3),
    ]  # fmt: skip
    obs = observe(raw)
    (sub,) = obs.flows["order_to_subscription"]
    assert sub.start == pytest.approx(100.028)
    assert sub.latency_s == pytest.approx(0.006)
    assert [s for s, _ in sub.service_ms()] == ["billing.get_subscriptions",
                                                "billing.post_subscriptions"]  # fmt: skip
    (ent,) = obs.flows["order_to_entitlement"]
    assert ent.latency_s == pytest.approx(0.015)
    # With one worker the entitlement's steps follow the subscription's answer.
    (ent,) = observe(raw, serial=True).flows["order_to_entitlement"]
    assert ent.service_ms() == [("support.post_entitlements", pytest.approx(9.0))]


def _batch_raw() -> RawDump:
    """Two deals closed at 100 and 110; one invoice run (one ``occurred_at``) finalises
    both invoices, delivered at 200.0 and 200.1; the middleware's first call on the batch
    starts at 200.3, and the second invoice queues behind the first."""
    at = "2030-02-28T00:00:00.000000Z"
    erp = [_call("POST", "/sales-orders", 100.01, 2), _call("POST", "/sales-orders", 110.01, 2,
                                                             corr="opp_2"),
           _call("GET", "/sales-orders", 200.300, 1, 200), _call("POST", "/invoices", 200.320, 2),
           _call("GET", "/sales-orders", 200.331, 1, 200, corr="opp_2"),
           _call("POST", "/invoices", 200.350, 2, corr="opp_2")]  # fmt: skip
    events = {
        "crm": [{"id": f"evt_crm_{i}", "type": "opportunity.closed_won",
                 "data": {"id": f"opp_{i}"}} for i in (1, 2)],
        "billing": [
            *({"id": f"evt_billing_s{i}", "type": "subscription.created",
               "data": {"id": f"sub_{i}", "external_id": f"opp_{i}"}} for i in (1, 2)),
            *({"id": f"evt_billing_i{i}", "type": "invoice.finalized", "occurred_at": at,
               "data": {"id": f"in_{i}", "subscription_id": f"sub_{i}"}} for i in (1, 2)),
        ],
    }  # fmt: skip
    deliveries = {
        "crm": [_sent("evt_crm_1", 100.0), _sent("evt_crm_2", 110.0)],
        "billing": [_sent("evt_billing_i1", 200.0), _sent("evt_billing_i2", 200.1)],
    }
    by_kind = {
        "journal": {"erp": {"data": erp}},
        "events": {s: {"data": rows} for s, rows in events.items()},
        "deliveries": {s: {"data": rows} for s, rows in deliveries.items()},
    }
    return RawDump(Path("."), {"systems": {"crm": {}, "erp": {}, "billing": {}}}, by_kind)


def test_an_invoice_runs_batch_waits_its_lead_and_no_step_counts_from_before_it() -> None:
    obs = observe(_batch_raw())
    (batch,) = obs.batches
    assert (batch.flow, batch.key, batch.runs) == ("invoice_to_ar_invoice",
                                                   "2030-02-28T00:00:00.000000Z", 2)  # fmt: skip
    # From the mean of the two deliveries (200.05) to the first call (200.3).
    assert batch.lead_s == pytest.approx(0.25)
    assert obs.pickup_s("invoice_to_ar_invoice") == pytest.approx(0.25)
    assert obs.pickup_s("close_to_order") is None  # deals are no batch
    first, second = sorted(obs.flows["invoice_to_ar_invoice"], key=lambda r: r.end)
    assert first.latency_s == pytest.approx(0.322)  # latency still from its own delivery
    assert first.service_ms() == [("erp.get_sales_orders", pytest.approx(1.0)),
                                  ("erp.post_invoices", pytest.approx(21.0))]  # fmt: skip
    assert second.latency_s == pytest.approx(0.252)
    # Queued: from the end of the middleware's previous call (the first's invoice).
    assert second.service_ms() == [("erp.get_sales_orders", pytest.approx(10.0)),
                                   ("erp.post_invoices", pytest.approx(20.0))]  # fmt: skip
