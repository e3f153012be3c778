"""The reference middleware's flows against a threads-mode estate: links, amounts, AR."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from standardwebhooks import Webhook

from examples.run import SutHandle
from simulators.estate import Estate
from tests.examples.deals import call, close_deal, listing, wait_for


def _one(estate: Estate, system: str, path: str, **params: str) -> dict:  # type: ignore[type-arg]
    found = wait_for(lambda: listing(estate, system, path, **params), what=f"{system} {path}")
    assert len(found) == 1, found
    return found[0]


def test_a_won_deal_becomes_one_order_subscription_and_entitlement_at_quote_prices(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    make_sut()
    deal = close_deal(golive, book, seats=10, discount_bps=1000)
    opp, quote, acct = deal["opportunity"]["id"], deal["quote"], deal["account"]["id"]
    ent = _one(golive, "support", "/entitlements")
    order = _one(golive, "erp", "/sales-orders")
    sub = _one(golive, "billing", "/subscriptions")
    # Customers in three systems, each keyed and linked to the CRM account.
    for system in ("erp", "billing"):
        customer = _one(golive, system, "/customers")
        assert (customer["external_id"], customer["crm_account_id"]) == (acct, acct)
    org = _one(golive, "support", "/organizations")
    assert (org["external_id"], org["crm_account_id"]) == (acct, acct)
    # The order: keyed by the opportunity, at the quote's net prices after the header discount.
    assert (order["external_id"], order["opportunity_id"], order["quote_id"]) == (
        opp, opp, quote["id"])  # fmt: skip
    assert order["total_minor"] == quote["total_minor"] == 1_656_000
    assert [(ln["sku"], ln["amount_minor"]) for ln in order["lines"]] == [
        ("PLAT-STD", 432_000), ("SUP-PRM", 864_000), ("SVC-ONB", 360_000)]  # fmt: skip
    # The subscription: recurring lines spread over the term, the one-time line left out.
    assert (sub["external_id"], sub["quote_id"], sub["term_months"]) == (opp, quote["id"], 12)
    assert sum(i["quantity"] * i["unit_amount_minor"] for i in sub["items"]) == (
        quote["recurring_monthly_minor"])  # fmt: skip
    # The entitlement: keyed by the subscription, active for the term, premium support.
    assert (ent["external_id"], ent["subscription_id"], ent["organization_id"]) == (
        sub["id"], sub["id"], org["id"])  # fmt: skip
    assert (ent["status"], ent["sku"], ent["support_tier"]) == ("active", "SUP-PRM", "premium")
    assert ent["end_date"] == sub["start_date"].replace(
        sub["start_date"][:4], str(int(sub["start_date"][:4]) + 1), 1)  # fmt: skip
    # One correlation id, the opportunity's, on everything the deal caused.
    assert {order["correlation_id"], sub["correlation_id"], ent["correlation_id"]} == {opp}


def test_an_invoice_and_its_payment_become_one_ar_invoice_and_one_receipt(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    make_sut()
    close_deal(golive, book)
    sub = wait_for(lambda: listing(golive, "billing", "/subscriptions"))[0]
    order = wait_for(lambda: listing(golive, "erp", "/sales-orders"))[0]
    with golive.client("billing") as billing:
        inv = call(billing, "POST", f"/subscriptions/{sub['id']}/invoices")
        inv = call(billing, "POST", f"/invoices/{inv['id']}/finalize")
        paid = call(billing, "POST", f"/invoices/{inv['id']}/pay")
    payment = listing(golive, "billing", "/payments", invoice_id=inv["id"])[0]
    assert (paid["status"], payment["status"]) == ("paid", "succeeded")
    rc = wait_for(lambda: listing(golive, "erp", "/receipts"), what="the receipt")[0]
    ar = listing(golive, "erp", "/invoices")
    assert len(ar) == 1
    assert (ar[0]["external_id"], ar[0]["total_minor"], ar[0]["currency"]) == (
        inv["id"], inv["total_minor"], inv["currency"])  # fmt: skip
    assert (ar[0]["sales_order_id"], ar[0]["customer_id"]) == (order["id"], order["customer_id"])
    assert rc["external_id"] == payment["id"]
    assert rc["applications"] == [
        {"ar_invoice_id": ar[0]["id"], "amount_minor": inv["total_minor"]}
    ]


def test_a_cancellation_suspends_the_entitlement(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    make_sut()
    close_deal(golive, book)
    ent = wait_for(lambda: listing(golive, "support", "/entitlements"))[0]
    with golive.client("billing") as billing:
        call(billing, "POST", f"/subscriptions/{ent['subscription_id']}/cancel", json={})
    wait_for(lambda: listing(golive, "support", "/entitlements", status="suspended"),
             what="the suspended entitlement")  # fmt: skip


def _signed(secret: str, event: dict[str, Any]) -> tuple[str, dict[str, str]]:
    body, now = json.dumps(event), datetime.now(UTC)
    return body, {"webhook-id": event["id"], "webhook-timestamp": str(int(now.timestamp())),
                  "webhook-signature": Webhook(secret).sign(event["id"], now, body)}  # fmt: skip


def test_a_renewal_extends_the_entitlement_to_the_new_term_end(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle], secret: str
) -> None:
    """The renewal event is sent as the simulator would sign it, with the subscription as
    it stands after renewing: its first period of a new 12-month term. The entitlement
    runs to the term's end, not the period's, even though support has expired it."""
    sut = make_sut()
    close_deal(golive, book, term_months=1)
    ent = wait_for(lambda: listing(golive, "support", "/entitlements"))[0]
    with golive.client("support") as client:
        call(client, "POST", f"/entitlements/{ent['id']}/expire")
    sub = listing(golive, "billing", "/subscriptions")[0]
    start = date.fromisoformat(ent["end_date"])
    # Its first monthly period (the middleware must not take that for the term).
    renewed = {**sub, "term_months": 12, "current_period_start": start.isoformat(),
               "current_period_end": (start + timedelta(days=31)).isoformat()}  # fmt: skip
    event = {"id": "evt_billing_900000000001", "type": "subscription.renewed",
             "system": "billing", "correlation_id": None, "data": renewed}  # fmt: skip
    body, headers = _signed(secret, event)
    assert httpx.post(f"{sut.url}/webhooks/billing", content=body, headers=headers).is_success
    term_end = start.replace(year=start.year + 1).isoformat()
    got = wait_for(
        lambda: [
            e for e in listing(golive, "support", "/entitlements") if e["end_date"] == term_end
        ],
        what="the entitlement extended to the renewed term's end",
    )
    assert got[0]["status"] == "active"


def test_a_forged_or_unsigned_webhook_is_refused_and_not_stored(
    golive: Estate, make_sut: Callable[..., SutHandle]
) -> None:
    sut = make_sut()
    event = {"id": "evt_crm_000000000001", "type": "opportunity.closed_won", "system": "crm",
             "data": {"id": "opp_x"}}  # fmt: skip
    body = json.dumps(event)
    forged = Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")
    now = datetime.now(UTC)
    headers = {"webhook-id": event["id"], "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": forged.sign(event["id"], now, body)}  # fmt: skip
    assert httpx.post(f"{sut.url}/webhooks/crm", content=body, headers=headers).status_code == 401
    assert httpx.post(f"{sut.url}/webhooks/crm", content=body).status_code == 401
    assert sut.status()["done"] + sut.status()["queue_depth"] == 0
