"""Billing's jobs on the clock: invoice runs, dunning, term renewals, a period that cannot bill."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.kit.runtime import SimConfig
from simulators.testing import sim_client
from tests.simulators.billing.conftest import Billing

pytestmark = pytest.mark.anyio

TODAY = "2030-06-01"  # the clock stands at 09:00 on this day (conftest.NOW)
DAY_S = 86_400


async def _harness(**options: Any) -> Any:
    return sim_client("billing", SimConfig(options=options))


async def _advance(b: Billing, days: float) -> dict[str, Any]:
    moved: dict[str, Any] = await b.call(
        "POST", "/_sim/clock/advance", 200, json={"seconds": days * DAY_S}
    )
    return moved


async def _events(b: Billing, object_id: str | None = None) -> list[tuple[str, str]]:
    body = await b.call("GET", "/events", 200, params={"limit": 1000})
    return [(e["type"], e["occurred_at"]) for e in body["data"]
            if object_id is None or e["data"]["id"] == object_id
            or e["data"].get("invoice_id") == object_id]  # fmt: skip


async def test_the_period_is_billed_and_charged_at_midnight_of_its_last_day(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"], start_date=TODAY)
    moved = await _advance(billing, 30)
    assert moved["ran"]["runs"] == {"invoice_run": 1}
    [invoice] = (await billing.get(f"/invoices?subscription_id={sub['id']}"))["data"]
    assert (invoice["status"], invoice["period_end"]) == ("paid", "2030-07-01")
    midnight = "2030-07-01T00:00:00.000000Z"
    assert invoice["finalized_at"] == invoice["paid_at"] == midnight
    events = (await _events(billing))[2:]  # after customer.created, subscription.created
    assert events == [(kind, midnight) for kind in (
        "invoice.created", "invoice.finalized", "invoice.posted", "payment.succeeded",
        "invoice.paid", "subscription.updated",
    )]  # fmt: skip
    renewed = await billing.get(f"/subscriptions/{sub['id']}")
    assert (renewed["current_period_start"], renewed["current_period_end"]) == (
        "2030-07-01", "2030-08-01")  # fmt: skip
    assert moved["next_due_at"] == "2030-08-01T00:00:00.000000Z"


async def test_dunning_retries_on_the_schedule_then_marks_the_subscription_unpaid(billing):
    customer = await billing.customer(payment_method="4000000000000341")
    sub = await billing.subscription(customer["id"], start_date=TODAY)
    moved = await _advance(billing, 62)
    assert moved["ran"]["runs"] == {"invoice_run": 2, "dunning": 3}
    first, second = (await billing.get(f"/invoices?subscription_id={sub['id']}"))["data"]
    assert (first["status"], first["attempt_count"]) == ("uncollectible", 4)
    # Unpaid: still invoiced at the next period end, never charged (as Stripe does).
    assert (second["status"], second["attempt_count"]) == ("open", 0)
    payments = (await billing.get(f"/payments?invoice_id={first['id']}"))["data"]
    assert [p["created_at"][:10] for p in payments] == [
        "2030-07-01", "2030-07-04", "2030-07-09", "2030-07-16"]  # fmt: skip
    states = [(kind, at[:10]) for kind, at in await _events(billing, sub["id"])
              if kind in ("subscription.past_due", "subscription.unpaid")]  # fmt: skip
    assert states == [
        ("subscription.past_due", "2030-07-01"),
        ("subscription.unpaid", "2030-07-16"),
    ]


async def test_a_term_ends_with_a_renewal_or_with_auto_renew_off_a_cancellation():
    for auto_renew, outcome in ((True, "active"), (False, "canceled")):
        async with await _harness(auto_renew=auto_renew) as client:
            b = Billing(client)
            customer = await b.customer()
            sub = await b.subscription(customer["id"], start_date=TODAY, term_months=3)
            await _advance(b, 200)
            kinds = [k for k, _ in await _events(b, sub["id"])]
            final = await b.get(f"/subscriptions/{sub['id']}")
            assert final["status"] == outcome
            if auto_renew:
                assert kinds.count("subscription.renewed") == 2  # after months 3 and 6
                renewals = [at[:10] for k, at in await _events(b, sub["id"])
                            if k == "subscription.renewed"]  # fmt: skip
                assert renewals == ["2030-09-01", "2030-12-01"]
            else:
                assert final["canceled_at"].startswith("2030-09-01")
                invoices = (await b.get(f"/invoices?subscription_id={sub['id']}"))["data"]
                assert len(invoices) == 3


async def test_a_period_past_the_money_bound_flags_its_subscription_and_the_run_goes_on():
    async with await _harness(tax_rate_bps=10_000) as client:
        b = Billing(client)
        customer = await b.customer()
        big = await b.subscription(
            customer["id"], {"sku": "BIG", "quantity": 1, "unit_amount_minor": 9 * 10**14},
            start_date=TODAY,
        )  # fmt: skip
        small = await b.subscription(customer["id"], start_date=TODAY)
        moved = await _advance(b, 31)
        [flag] = moved["ran"]["flagged"]
        assert (flag["id"], flag["code"], flag["job"]) == (
            big["id"],
            "amount_too_large",
            "invoice_run",
        )
        assert moved["ran"]["failures"] == []
        flagged = await b.get(f"/subscriptions/{big['id']}")
        assert (flagged["flags"], flagged["current_period_end"]) == (
            ["billing_failed"],
            "2030-07-01",
        )
        assert len((await b.get(f"/invoices?subscription_id={small['id']}"))["data"]) == 1
        # The next due instant is the healthy subscription's, not the flagged one's.
        assert moved["next_due_at"] == "2030-08-01T00:00:00.000000Z"
        item = flagged["items"][0]["id"]
        fixed = await b.call(
            "PATCH", f"/subscriptions/{big['id']}", 200,
            json={"items": [{"id": item, "unit_amount_minor": 1_000}]},
        )  # fmt: skip
        assert fixed["flags"] == []
        moved = await _advance(b, 1)
        invoices = (await b.get(f"/invoices?subscription_id={big['id']}"))["data"]
        assert [i["period_end"] for i in invoices] == ["2030-07-01"]
        assert invoices[0]["total_minor"] == 2_000
