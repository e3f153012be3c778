"""A simulated year over 1,000 subscriptions, checked one by one against the billing rules.

The expected outcome of each subscription (periods, invoices, totals, payments, dunning,
final status, events with their instants) is computed here from the documented rules
(docs/api.md, billing; ``rules.py``) with month arithmetic of its own, never by
running the simulator's code.
"""

from __future__ import annotations

import calendar
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from simulators.kit.runtime import SimConfig
from simulators.kit.uow import transaction
from simulators.testing import SimHarness, sim_client

pytestmark = pytest.mark.anyio

T0 = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 1, 1, tzinfo=UTC)
SUBSCRIPTIONS = 1_000
TAX_BPS = 825
RETRY_DAYS = (3, 5, 7)  # Stripe's custom schedule, as rules.DUNNING_RETRY_DAYS documents
GOOD, FAILING = "4242424242424242", "4000000000000341"


def _months_later(day: date, months: int) -> date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000000Z"


def _plan(seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    plans = []
    for n in range(SUBSCRIPTIONS):
        kind = rng.choices(("monthly", "trial", "cancel", "failing"), (40, 20, 15, 25))[0]
        plans.append({
            "n": n, "kind": kind, "start": date(2027, 1, 1) + timedelta(days=rng.randrange(31)),
            "trial_days": rng.choice((14, 30)) if kind == "trial" else 0,
            "term": rng.choice((1, 3, 6, 12)), "quantity": rng.randint(1, 5),
            "unit": rng.randint(1_000, 50_000),
        })  # fmt: skip
    return plans


def _expected(plan: dict[str, Any], final_action: str) -> dict[str, Any]:
    """What the rules say happens to one subscription during the year."""
    anchor = plan["start"] + timedelta(days=plan["trial_days"])
    subtotal = plan["quantity"] * plan["unit"]
    total = subtotal + (subtotal * TAX_BPS + 5_000) // 10_000  # tax rounds half up
    events: list[tuple[str, str]] = []  # (type, occurred_at), in order
    invoices: list[dict[str, Any]] = []
    status, canceled_at = "trialing" if plan["trial_days"] else "active", None
    if plan["trial_days"]:
        events.append(("subscription.activated", _midnight(anchor)))
        status = "active"
    k, start = 1, anchor
    while (end := _months_later(anchor, k)) <= END.date():
        at = _midnight(end)
        invoice = {"period": (start.isoformat(), end.isoformat()), "total": total,
                   "payments": []}  # fmt: skip
        events += [("invoice.created", at), ("invoice.finalized", at), ("invoice.posted", at)]
        if plan["kind"] == "failing" and status == "unpaid":
            invoice |= {"status": "open", "attempts": 0}  # invoiced, never charged
        elif plan["kind"] == "failing":
            retry, attempts = end, []
            for n in range(len(RETRY_DAYS) + 1):
                attempts.append(retry)
                if n < len(RETRY_DAYS):
                    retry = retry + timedelta(days=RETRY_DAYS[n])
            invoice |= {"status": "uncollectible", "attempts": 4,
                        "payments": [("failed", _midnight(d)) for d in attempts]}  # fmt: skip
            events += [("payment.failed", at), ("subscription.past_due", at)]
            later = [("payment.failed", _midnight(d)) for d in attempts[1:]]
            last = _midnight(attempts[-1])
            later += [
                ("invoice.marked_uncollectible", last),
                (f"subscription.{final_action}", last),
            ]
        else:
            invoice |= {"status": "paid", "attempts": 0, "payments": [("succeeded", at)]}
            events += [("payment.succeeded", at), ("invoice.paid", at)]
        invoices.append(invoice)
        if plan["kind"] == "cancel":
            events.append(("subscription.canceled", at))
            status, canceled_at = "canceled", at
            break
        renewal = "subscription.renewed" if k % plan["term"] == 0 else "subscription.updated"
        events.append((renewal, at))
        if plan["kind"] == "failing" and status == "active":
            events += later
            status = final_action
            if final_action == "canceled":
                canceled_at = last
                break
        k, start = k + 1, end
    period = (start.isoformat(), _months_later(anchor, k).isoformat())
    return {"status": status, "canceled_at": canceled_at, "invoices": invoices,
            "events": events, "period": period}  # fmt: skip


def _arrange(state: Any, plans: list[dict[str, Any]]) -> list[str]:
    ids = []
    with transaction(state.rt):
        for plan in plans:
            card = FAILING if plan["kind"] == "failing" else GOOD
            customer = state.create_customer({
                "name": f"Customer {plan['n']}", "email": f"ap{plan['n']}@example.test",
                "currency": "EUR", "payment_method": card, "crm_account_id": None,
                "external_id": f"cust-{plan['n']}",
            })  # fmt: skip
            sub = state.create_subscription({
                "customer_id": customer["id"], "currency": None, "external_id": None,
                "quote_id": None, "term_months": plan["term"],
                "start_date": plan["start"].isoformat(), "trial_days": plan["trial_days"],
                "items": [{"sku": "SEAT", "quantity": plan["quantity"],
                           "unit_amount_minor": plan["unit"], "usage_based": False},
                          {"sku": "API", "quantity": 0, "unit_amount_minor": 3,
                           "usage_based": True}],
            })  # fmt: skip
            if plan["kind"] == "cancel":
                state.cancel_subscription(sub["id"], at_period_end=True)
            ids.append(sub["id"])
    return ids


@pytest.mark.parametrize("final_action", ["unpaid", "canceled"])
async def test_a_year_of_1000_subscriptions_follows_the_rules_one_by_one(final_action):
    config = SimConfig(options={"tax_rate_bps": TAX_BPS, "dunning_final_action": final_action})
    async with sim_client("billing", config) as client:
        h = SimHarness(client)
        state = h.state
        state.clock.freeze(T0)
        plans = _plan()
        sub_ids = _arrange(state, plans)
        seen = len(state.rt.events)
        moved = await h.call("POST", "/_sim/clock/advance", 200, json={"to": END.isoformat()})
        assert moved["ran"]["failures"] == []
        assert moved["ran"]["stalled"] == []
        assert moved["now"] == _midnight(END.date())

        invoices = defaultdict(list)
        for invoice in state.col("invoice"):
            invoices[invoice["subscription_id"]].append(invoice)
        payments = defaultdict(list)
        for payment in state.col("payment"):
            payments[payment["invoice_id"]].append(payment)
        owner = {i["id"]: i["subscription_id"] for i in state.col("invoice")}
        events = defaultdict(list)
        for event in state.rt.events.all()[seen:]:
            data = event["data"]
            sub_id = data.get("subscription_id") or owner.get(data.get("invoice_id")) or data["id"]
            events[sub_id].append((event["type"], event["occurred_at"]))
        stamps = [e["occurred_at"] for e in state.rt.events.all()[seen:]]
        assert stamps == sorted(stamps)  # the jobs ran in time order

        for plan, sub_id in zip(plans, sub_ids, strict=True):
            want = _expected(plan, final_action)
            where = f"subscription {plan['n']} ({plan['kind']}, start {plan['start']})"
            sub = state.col("subscription").get(sub_id)
            assert (sub["status"], sub["canceled_at"]) == (want["status"], want["canceled_at"]), (
                where
            )
            if want["status"] != "canceled":
                assert (sub["current_period_start"], sub["current_period_end"]) == want["period"]
            got = sorted(invoices[sub_id], key=lambda i: i["period_start"])
            assert len(got) == len(want["invoices"]), where
            for invoice, expected in zip(got, want["invoices"], strict=True):
                assert (invoice["period_start"], invoice["period_end"]) == expected["period"]
                assert invoice["total_minor"] == expected["total"], where
                assert (invoice["status"], invoice["attempt_count"]) == (
                    expected["status"], expected["attempts"]), where  # fmt: skip
                paid = [(p["status"], p["created_at"]) for p in payments[invoice["id"]]]
                assert paid == expected["payments"], where
            assert events[sub_id] == want["events"], where
        numbers = [i["number"] for i in state.col("invoice")]
        assert len(set(numbers)) == len(numbers)
