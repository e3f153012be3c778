from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from simulators.billing.rules import add_months, next_period_end

pytestmark = pytest.mark.anyio

START = "2026-01-31"  # the billing fixture's default start date
IN_PERIOD = "2026-02-10T12:00:00Z"


async def test_customer_to_paid_invoice_with_recurring_and_usage_items(billing):
    customer = await billing.customer(external_id="crm-acc-1", crm_account_id="acc_1")
    sub = await billing.subscription(customer["id"], external_id="deal-1", quote_id="q_1")
    assert sub["status"] == "active"
    assert (sub["current_period_start"], sub["current_period_end"]) == (START, "2026-02-28")
    assert sub["currency"] == customer["currency"] == "USD"
    await billing.usage(sub, 1_234)
    await billing.usage(sub, 766, "2026-01-31T00:00:00Z")  # the first instant of the period
    invoice = await billing.invoice(sub["id"], tax_rate_bps=825, external_id="bill-1")
    # 3 x 100.00 + 2000 calls x 0.05 = 400.00; tax 8.25% = 33.00; total 433.00
    assert [(ln["kind"], ln["quantity"], ln["amount_minor"]) for ln in invoice["lines"]] == [
        ("recurring", 3, 30_000),
        ("usage", 2_000, 10_000),
    ]
    assert (invoice["subtotal_minor"], invoice["tax_minor"], invoice["total_minor"]) == (
        40_000,
        3_300,
        43_300,
    )
    assert invoice["amount_remaining_minor"] == 43_300
    assert invoice["status"] == "draft"
    assert invoice["number"] == "INV-000001"
    assert (invoice["period_start"], invoice["period_end"]) == (START, "2026-02-28")
    opened = await billing.call("POST", f"/invoices/{invoice['id']}/finalize", 200)
    assert opened["status"] == "open"
    assert opened["finalized_at"] is not None
    paid = await billing.call(
        "POST", f"/invoices/{invoice['id']}/pay", 200, json={"payment_method": "4242424242424242"}
    )
    assert paid["status"] == "paid"
    assert (paid["amount_paid_minor"], paid["amount_remaining_minor"]) == (43_300, 0)
    assert paid["paid_at"] is not None
    payments = (await billing.get(f"/payments?invoice_id={invoice['id']}"))["data"]
    assert [(p["status"], p["amount_minor"], p["failure_code"]) for p in payments] == [
        ("succeeded", 43_300, None)
    ]
    assert await billing.event_types() == [
        "customer.created",
        "subscription.created",
        "usage_record.created",
        "usage_record.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.posted",
        "payment.succeeded",
        "invoice.paid",
    ]
    found = await billing.get("/invoices?external_id=bill-1")
    assert [i["id"] for i in found["data"]] == [invoice["id"]]


async def test_tax_rounds_half_up_on_the_exact_fraction(billing):
    customer = await billing.customer()
    sub = await billing.subscription(
        customer["id"], {"sku": "SEAT", "quantity": 1, "unit_amount_minor": 250}
    )
    invoice = await billing.invoice(sub["id"], tax_rate_bps=500)  # 12.5 cents → 13
    assert (invoice["tax_minor"], invoice["total_minor"]) == (13, 263)
    sub2 = await billing.subscription(
        customer["id"], {"sku": "SEAT", "quantity": 1, "unit_amount_minor": 249}
    )
    invoice = await billing.invoice(sub2["id"], tax_rate_bps=500)  # 12.45 cents → 12
    assert (invoice["tax_minor"], invoice["total_minor"]) == (12, 261)


async def test_invoice_cycle_bills_each_period_its_own_usage_and_starts_the_next(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    await billing.usage(sub, 100)
    done = billing.state.run_invoice_cycle(datetime(2026, 3, 1, tzinfo=UTC))
    assert (done["periods"], done["renewed"]) == ([sub["id"]], [])
    renewed = await billing.get(f"/subscriptions/{sub['id']}")
    # Anchored on 31 January: the period after 28 February ends on 31 March, not the 28th.
    assert (renewed["current_period_start"], renewed["current_period_end"]) == (
        "2026-02-28",
        "2026-03-31",
    )
    first = await billing.get(f"/invoices/{done['invoices'][0]}")
    assert first["lines"][1]["quantity"] == 100
    assert first["total_minor"] == 30_000 + 500
    # Auto-advance: finalized and charged to the default card, as Stripe does.
    assert first["status"] == "paid"
    await billing.usage(renewed, 40, "2026-03-30T23:59:59Z")
    second = await billing.invoice(sub["id"])
    assert second["lines"][1]["quantity"] == 40
    assert second["total_minor"] == 30_000 + 200
    assert second["number"] == "INV-000002"
    types = await billing.event_types()
    # A new period is an update (as Stripe's customer.subscription.updated); a renewal
    # happens at the end of the term (12 months here).
    assert (types.count("subscription.renewed"), types.count("subscription.updated")) == (0, 1)


async def test_invoice_cycle_catches_up_every_missed_period(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    done = billing.state.run_invoice_cycle(datetime(2026, 6, 1, tzinfo=UTC))
    assert len(done["invoices"]) == len(done["periods"]) == 4
    periods = [
        (i["period_start"], i["period_end"])
        for i in (await billing.get(f"/invoices?subscription_id={sub['id']}"))["data"]
    ]
    assert periods == [
        ("2026-01-31", "2026-02-28"),
        ("2026-02-28", "2026-03-31"),
        ("2026-03-31", "2026-04-30"),
        ("2026-04-30", "2026-05-31"),
    ]
    assert billing.state.run_invoice_cycle(datetime(2026, 6, 1, tzinfo=UTC))["invoices"] == []


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_month_arithmetic_clamps_to_the_month_end(anchor, months, expected):
    assert add_months(anchor, months) == expected


def test_periods_are_counted_from_the_anchor_not_chained():
    assert next_period_end(date(2026, 1, 31), date(2026, 2, 28)) == date(2026, 3, 31)
    assert next_period_end(date(2026, 1, 31), date(2026, 4, 30)) == date(2026, 5, 31)


async def test_trial_starts_trialing_is_not_invoiced_and_becomes_active_at_its_end(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"], trial_days=14)
    assert sub["status"] == "trialing"
    assert sub["trial_end"] == sub["current_period_end"] == "2026-02-14"
    await billing.refused(
        "POST", f"/subscriptions/{sub['id']}/invoices", 409, "subscription_trialing"
    )
    done = billing.state.run_invoice_cycle(datetime(2026, 2, 14, tzinfo=UTC))
    assert done == {"invoices": [], "periods": [], "renewed": [], "activated": [sub["id"]],
                    "canceled": [], "flagged": []}  # fmt: skip
    active = await billing.get(f"/subscriptions/{sub['id']}")
    assert active["status"] == "active"
    assert (active["current_period_start"], active["current_period_end"]) == (
        "2026-02-14",
        "2026-03-14",
    )
    assert (await billing.event_types())[-1] == "subscription.activated"


async def test_trial_end_now_activates_at_once_and_only_a_trial_can_end(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"], trial_days=30)
    ended = await billing.call(
        "PATCH", f"/subscriptions/{sub['id']}", 200, json={"trial_end": "now"}
    )
    assert ended["status"] == "active"
    assert ended["trial_end"] == ended["current_period_start"] == "2030-06-01"
    assert ended["current_period_end"] == "2030-07-01"
    await billing.refused(
        "PATCH", f"/subscriptions/{sub['id']}", 409, "not_trialing", json={"trial_end": "now"}
    )


async def test_cancel_now_is_final_and_refuses_changes_usage_and_invoices(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    canceled = await billing.call("POST", f"/subscriptions/{sub['id']}/cancel", 200)
    assert canceled["status"] == "canceled"
    assert canceled["canceled_at"] is not None
    url = f"/subscriptions/{sub['id']}"
    await billing.refused("POST", f"{url}/cancel", 409, "invalid_transition")
    await billing.refused("PATCH", url, 409, "subscription_canceled", json={"term_months": 24})
    await billing.refused(
        "POST",
        f"{url}/usage-records",
        409,
        "subscription_canceled",
        json={"subscription_item_id": sub["items"][1]["id"], "quantity": 1, "timestamp": IN_PERIOD},
    )
    await billing.refused("POST", f"{url}/invoices", 409, "subscription_canceled")
    assert (await billing.event_types())[-1] == "subscription.canceled"


async def test_cancel_at_period_end_bills_the_last_period_then_cancels(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    pending = await billing.call(
        "POST", f"/subscriptions/{sub['id']}/cancel", 200, json={"at_period_end": True}
    )
    assert (pending["status"], pending["cancel_at_period_end"]) == ("active", True)
    done = billing.state.run_invoice_cycle(datetime(2026, 3, 15, tzinfo=UTC))
    assert (len(done["invoices"]), done["renewed"], done["canceled"]) == (1, [], [sub["id"]])
    final = await billing.get(f"/subscriptions/{sub['id']}")
    assert final["status"] == "canceled"
    assert final["canceled_at"].startswith("2026-03-15")


async def test_patch_items_changes_adds_and_deletes_with_if_match(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    recurring, metered = sub["items"]
    url = f"/subscriptions/{sub['id']}"
    r = await billing.c.patch(
        url,
        headers={"If-Match": '"1"'},
        json={
            "items": [
                {"id": recurring["id"], "quantity": 5},
                {"sku": "SUPPORT", "unit_amount_minor": 2_500},
                {"id": metered["id"], "deleted": True},
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    items = r.json()["items"]
    assert [(i["sku"], i["quantity"], i["usage_based"]) for i in items] == [
        ("PLAT-PRO", 5, False),
        ("SUPPORT", 1, False),
    ]
    invoice = await billing.invoice(sub["id"])
    assert invoice["subtotal_minor"] == 5 * 10_000 + 2_500
    await billing.refused(
        "PATCH",
        url,
        412,
        "precondition_failed",
        headers={"If-Match": '"1"'},
        json={"term_months": 6},
    )
    await billing.refused(
        "PATCH", url, 422, "unknown_item", json={"items": [{"id": "si_nope", "quantity": 1}]}
    )
    await billing.refused("PATCH", url, 422, "item_incomplete", json={"items": [{"quantity": 2}]})
    await billing.refused(
        "PATCH",
        url,
        422,
        "items_required",
        json={
            "items": [
                {"id": items[0]["id"], "deleted": True},
                {"id": items[1]["id"], "deleted": True},
            ]
        },
    )
    assert (await billing.event_types()).count("subscription.updated") == 1
