from __future__ import annotations

from datetime import timedelta

import pytest

from simulators.billing.rules import TEST_CARDS
from simulators.kit.clock import format_instant

pytestmark = pytest.mark.anyio

DUNNING_CARD = "4000000000000341"  # attaches, then every charge is declined


async def _open_invoice(billing, payment_method="4242424242424242", **sub_fields):
    customer = await billing.customer(payment_method=payment_method)
    sub = await billing.subscription(customer["id"], **sub_fields)
    return customer, sub, await billing.open_invoice(sub["id"])


async def test_declined_card_drives_dunning_to_past_due_then_unpaid(billing):
    _, sub, invoice = await _open_invoice(billing, DUNNING_CARD)
    url = f"/invoices/{invoice['id']}"
    now = billing.state.clock.now()
    problem = await billing.refused("POST", f"{url}/pay", 402, "card_declined")
    assert problem["errors"][0]["payment_id"].startswith("pay_")
    failed = await billing.get(url)
    assert failed["status"] == "open"
    assert failed["attempt_count"] == 1
    assert failed["next_payment_attempt"] == format_instant(now + timedelta(days=3))
    assert (await billing.get(f"/subscriptions/{sub['id']}"))["status"] == "past_due"

    assert billing.state.run_dunning(now + timedelta(days=2)) == []  # not yet due
    retry_at = now + timedelta(days=3)
    for attempt, gap_days in ((2, 5), (3, 7)):
        assert billing.state.run_dunning(retry_at) == [invoice["id"]]
        retried = await billing.get(url)
        assert retried["attempt_count"] == attempt
        retry_at += timedelta(days=gap_days)
        assert retried["next_payment_attempt"] == format_instant(retry_at)
    assert billing.state.run_dunning(retry_at) == [invoice["id"]]  # the last retry

    final = await billing.get(url)
    assert (final["status"], final["attempt_count"], final["next_payment_attempt"]) == (
        "uncollectible",
        4,
        None,
    )
    assert (await billing.get(f"/subscriptions/{sub['id']}"))["status"] == "unpaid"
    payments = (await billing.get(f"/payments?invoice_id={invoice['id']}&status=failed"))["data"]
    assert [p["failure_code"] for p in payments] == ["card_declined"] * 4
    types = await billing.event_types()
    assert types.count("payment.failed") == 4
    assert types.count("subscription.past_due") == 1
    assert types[-3:] == ["payment.failed", "invoice.marked_uncollectible", "subscription.unpaid"]
    assert billing.state.run_dunning(retry_at + timedelta(days=30)) == []


async def test_paying_an_uncollectible_invoice_brings_the_subscription_back(billing):
    billing.state.options["dunning_retry_days"] = []
    customer, sub, invoice = await _open_invoice(billing, DUNNING_CARD)
    await billing.refused("POST", f"/invoices/{invoice['id']}/pay", 402, "card_declined")
    assert (await billing.get(f"/invoices/{invoice['id']}"))["status"] == "uncollectible"
    assert (await billing.get(f"/subscriptions/{sub['id']}"))["status"] == "unpaid"
    await billing.call(
        "PATCH", f"/customers/{customer['id']}", 200, json={"payment_method": "pm_card_visa"}
    )
    paid = await billing.call("POST", f"/invoices/{invoice['id']}/retry-payment", 200)
    assert paid["status"] == "paid"
    assert (await billing.get(f"/subscriptions/{sub['id']}"))["status"] == "active"
    assert (await billing.event_types())[-1] == "subscription.activated"


async def test_final_action_can_cancel_the_subscription(billing_cancel_on_failure):
    billing = billing_cancel_on_failure
    billing.state.options["dunning_retry_days"] = [1]
    _, sub, invoice = await _open_invoice(billing, DUNNING_CARD)
    await billing.refused("POST", f"/invoices/{invoice['id']}/pay", 402, "card_declined")
    billing.state.run_dunning(billing.state.clock.now() + timedelta(days=1))
    canceled = await billing.get(f"/subscriptions/{sub['id']}")
    assert canceled["status"] == "canceled"
    assert (await billing.get(f"/invoices/{invoice['id']}"))["status"] == "uncollectible"


async def test_a_retry_that_succeeds_ends_dunning_and_reactivates(billing):
    customer, sub, invoice = await _open_invoice(billing, DUNNING_CARD)
    await billing.refused("POST", f"/invoices/{invoice['id']}/pay", 402, "card_declined")
    await billing.call(
        "PATCH", f"/customers/{customer['id']}", 200, json={"payment_method": "5555555555554444"}
    )
    billing.state.run_dunning(billing.state.clock.now() + timedelta(days=3))
    paid = await billing.get(f"/invoices/{invoice['id']}")
    assert (paid["status"], paid["attempt_count"], paid["next_payment_attempt"]) == (
        "paid",
        1,
        None,
    )
    assert (await billing.get(f"/subscriptions/{sub['id']}"))["status"] == "active"


@pytest.mark.parametrize(
    "number", [c.number for c in TEST_CARDS.values() if c.charge_error is not None]
)
async def test_each_declining_test_card_fails_a_charge_with_its_code(billing, number):
    _, _, invoice = await _open_invoice(billing)
    code = TEST_CARDS[number].charge_error
    await billing.refused(
        "POST", f"/invoices/{invoice['id']}/pay", 402, code, json={"payment_method": number}
    )
    payment = (await billing.get(f"/payments?invoice_id={invoice['id']}"))["data"][0]
    assert (payment["status"], payment["failure_code"]) == ("failed", code)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4000000000000002", "card_declined"),
        ("4000000000000069", "expired_card"),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
async def test_declining_cards_cannot_be_saved_on_a_customer(billing, number, code):
    await billing.refused(
        "POST",
        "/customers",
        402,
        code,
        json={"name": "A", "email": "a@b.c", "payment_method": number},
    )
    customer = await billing.customer()
    await billing.refused(
        "PATCH", f"/customers/{customer['id']}", 402, code, json={"payment_method": number}
    )


async def test_payment_refusals(billing):
    _, _, invoice = await _open_invoice(billing, None)
    url = f"/invoices/{invoice['id']}/pay"
    await billing.refused("POST", url, 422, "no_payment_method")
    await billing.refused(
        "POST", url, 422, "unknown_test_card", json={"payment_method": "4111111111111112"}
    )
    await billing.refused("POST", url, 422, "validation_failed", json={"payment_method": "cash"})
    await billing.refused("POST", "/invoices/in_nope/pay", 404, "not_found")
    await billing.refused(
        "POST",
        "/customers",
        422,
        "unknown_test_card",
        json={"name": "A", "email": "a@b.c", "payment_method": "4111111111111112"},
    )
    assert (await billing.get(f"/invoices/{invoice['id']}"))["attempt_count"] == 0


async def test_every_illegal_invoice_move_is_refused_with_invalid_transition(billing):
    _, _, draft = await _open_invoice(billing)
    paid = await billing.call("POST", f"/invoices/{draft['id']}/pay", 200)
    second = await billing.subscription((await billing.customer())["id"])
    draft = await billing.invoice(second["id"])
    third = await billing.subscription((await billing.customer())["id"])
    void = await billing.invoice(third["id"])
    void = await billing.call("POST", f"/invoices/{void['id']}/void", 200)
    assert (void["status"], void["amount_remaining_minor"]) == ("void", 0)
    refused = [
        (draft, "pay"),
        (draft, "retry-payment"),
        (draft, "mark-uncollectible"),
        (paid, "pay"),
        (paid, "finalize"),
        (paid, "void"),
        (paid, "mark-uncollectible"),
        (void, "pay"),
        (void, "finalize"),
        (void, "void"),
        (void, "mark-uncollectible"),
    ]
    for invoice, action in refused:
        body = await billing.refused(
            "POST", f"/invoices/{invoice['id']}/{action}", 409, "invalid_transition"
        )
        assert body["errors"][0]["field"] == "status"
    opened = await billing.call("POST", f"/invoices/{draft['id']}/finalize", 200)
    await billing.refused("POST", f"/invoices/{opened['id']}/finalize", 409, "invalid_transition")
    written_off = await billing.call("POST", f"/invoices/{opened['id']}/mark-uncollectible", 200)
    assert written_off["status"] == "uncollectible"
    assert (await billing.call("POST", f"/invoices/{opened['id']}/void", 200))["status"] == "void"


async def test_zero_total_invoice_is_paid_on_finalize(billing):
    customer = await billing.customer(payment_method=None)
    sub = await billing.subscription(
        customer["id"], {"sku": "API", "unit_amount_minor": 3, "usage_based": True}
    )
    invoice = await billing.open_invoice(sub["id"])
    assert (invoice["status"], invoice["total_minor"]) == ("paid", 0)
    assert (await billing.event_types())[-1] == "invoice.paid"


async def test_credit_notes_reduce_an_open_invoice_and_pay_it_when_covered(billing):
    _, _, invoice = await _open_invoice(billing)  # total 30_000, nothing used
    url = f"/invoices/{invoice['id']}/credit-notes"
    note = await billing.call(
        "POST", url, 201, json={"amount_minor": 10_000, "reason": "duplicate"}
    )
    assert (note["amount_minor"], note["currency"], note["invoice_id"]) == (
        10_000,
        "USD",
        invoice["id"],
    )
    partly = await billing.get(f"/invoices/{invoice['id']}")
    assert (
        partly["status"],
        partly["amount_credited_minor"],
        partly["amount_remaining_minor"],
    ) == (
        "open",
        10_000,
        20_000,
    )
    await billing.refused("POST", url, 422, "credit_exceeds_invoice", json={"amount_minor": 20_001})
    await billing.call("POST", url, 201, json={"amount_minor": 20_000})
    covered = await billing.get(f"/invoices/{invoice['id']}")
    assert (covered["status"], covered["amount_remaining_minor"]) == ("paid", 0)
    assert (await billing.event_types())[-2:] == ["credit_note.created", "invoice.paid"]
    await billing.refused("POST", url, 422, "credit_exceeds_invoice", json={"amount_minor": 1})
    await billing.refused("POST", url, 422, "validation_failed", json={"amount_minor": 0})
    notes = await billing.get(f"/credit-notes?invoice_id={invoice['id']}")
    assert [n["amount_minor"] for n in notes["data"]] == [10_000, 20_000]


async def test_credit_notes_on_paid_invoices_only_record_the_credit(billing):
    _, _, invoice = await _open_invoice(billing)
    await billing.call("POST", f"/invoices/{invoice['id']}/pay", 200)
    url = f"/invoices/{invoice['id']}/credit-notes"
    await billing.call("POST", url, 201, json={"amount_minor": 30_000})
    credited = await billing.get(f"/invoices/{invoice['id']}")
    assert (
        credited["status"],
        credited["amount_paid_minor"],
        credited["amount_credited_minor"],
    ) == (
        "paid",
        30_000,
        30_000,
    )


@pytest.mark.parametrize("action", [None, "void"])
async def test_credit_notes_need_an_open_or_paid_invoice(billing, action):
    sub = await billing.subscription((await billing.customer())["id"])
    invoice = await billing.invoice(sub["id"])
    if action:
        await billing.call("POST", f"/invoices/{invoice['id']}/{action}", 200)
    await billing.refused(
        "POST",
        f"/invoices/{invoice['id']}/credit-notes",
        409,
        "invoice_not_creditable",
        json={"amount_minor": 1},
    )


async def test_usage_past_the_quantity_bound_is_refused_and_named(billing):
    customer = await billing.customer()
    item = {"sku": "U1", "quantity": 0, "unit_amount_minor": 1, "usage_based": True}
    sub = await billing.subscription(customer["id"], item)
    await billing.usage(sub, 600_000_000, item=0)
    body = {
        "subscription_item_id": sub["items"][0]["id"],
        "quantity": 600_000_000,
        "timestamp": "2026-02-10T12:00:00Z",
    }
    problem = await billing.refused(
        "POST", f"/subscriptions/{sub['id']}/usage-records", 422, "quantity_too_large", json=body
    )
    assert problem["errors"][0]["field"] == "quantity"
    invoice = await billing.invoice(sub["id"])
    assert invoice["lines"][0]["quantity"] == 600_000_000


async def test_usage_whose_amount_passes_the_money_bound_is_refused(billing):
    customer = await billing.customer()
    item = {"sku": "U1", "quantity": 0, "unit_amount_minor": 10_000_000, "usage_based": True}
    sub = await billing.subscription(customer["id"], item)
    await billing.usage(sub, 100_000_000, item=0)  # 10**15 exactly
    body = {
        "subscription_item_id": sub["items"][0]["id"],
        "quantity": 1,
        "timestamp": "2026-02-10T12:00:00Z",
    }
    await billing.refused(
        "POST", f"/subscriptions/{sub['id']}/usage-records", 422, "amount_too_large", json=body
    )


async def test_an_invoice_run_past_the_money_bound_is_refused_and_creates_nothing(billing):
    customer = await billing.customer()
    item = {"sku": "U1", "quantity": 0, "unit_amount_minor": 10_000_000, "usage_based": True}
    sub = await billing.subscription(customer["id"], item)
    await billing.usage(sub, 100_000_000, item=0)  # a subtotal of 10**15; tax passes it
    await billing.refused(
        "POST",
        f"/subscriptions/{sub['id']}/invoices",
        422,
        "amount_too_large",
        json={"tax_rate_bps": 100},
    )
    assert (await billing.get("/invoices"))["data"] == []
    invoice = await billing.invoice(sub["id"])
    assert invoice["total_minor"] == 10**15
