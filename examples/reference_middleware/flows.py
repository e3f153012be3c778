"""The quote-to-cash flows: what each event becomes in the other systems.

The links are the ones golive's oracle checks (docs/sut-contract.md):

- customers in billing, support and ERP: ``external_id`` = ``crm_account_id`` = the CRM account;
- ERP sales order: ``external_id`` = the opportunity, with ``opportunity_id`` and ``quote_id``,
  lines at the accepted quote's net prices after the header discount;
- billing subscription: ``external_id`` = the opportunity, ``quote_id``, recurring and usage
  items priced from the quote (spread over ``term_months``; one-time lines are on the order);
- support entitlement: ``external_id`` = ``subscription_id`` = the subscription, active,
  ``end_date`` = start + term;
- ERP AR invoice: ``external_id`` = the billing invoice, same amounts and currency;
- ERP receipt: ``external_id`` = the billing payment, applied to that invoice's AR invoice.

Patterns shown: each step is an upsert by external id with an Idempotency-Key of
``<event id>:<step>``, so running a flow twice (a redelivery after a restart, a replay
from the dead letters) finds what the first run made and creates nothing twice; an event
that needs something not there yet raises ``Parked`` (the worker tries it again later).
"""

from __future__ import annotations

import calendar
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from examples.reference_middleware.clients import Systems
from examples.reference_middleware.store import Job

__all__ = ["EVENTS", "HANDLERS", "Parked", "correlation_of", "handle"]

_TEST_CARD = "4242424242424242"  # the simulators' card that always pays: a real
# integration passes the payment method collected at checkout instead.
_TIERS = {"STD": "standard", "PRM": "premium", "ENT": "enterprise"}  # SUP-<tier> SKUs
# A new ERP customer's credit limit by CRM segment (the credit team's policy; golive's
# generator uses the same table in USD cents): the ERP refuses orders beyond it.
_CREDIT = {"smb": 5_000_000, "mid_market": 50_000_000, "enterprise": 500_000_000}


class Parked(Exception):
    """This event needs another one to be processed first: try again later."""


def _add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def _amounts(quote: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    """Each quote line with its amount after the header discount (minor units)."""
    bps = quote.get("discount_bps", 0)
    return [(line, line["net_minor"] * (10_000 - bps) // 10_000) for line in quote["lines"]]


async def closed_won(sys: Systems, job: Job) -> None:
    opp = job.event["data"]
    corr = opp["id"]

    def key(step: str) -> str:  # Idempotency-Key: the event and the step, stable on a retry
        return f"{job.event_id}:{step}"

    quote = await sys.call("cpq", "GET", f"/quotes/{opp['primary_quote_id']}", corr=corr)
    if quote["status"] != "accepted":
        raise Parked(f"quote {quote['id']} is {quote['status']}, not accepted yet")
    account = await sys.call("crm", "GET", f"/accounts/{opp['account_id']}", corr=corr)
    acct, cur, name = account["id"], quote["currency"], account["name"]
    links = {"name": name, "crm_account_id": acct}
    erp_customer = await sys.upsert(
        "erp", "/customers", acct,
        {**links, "currency": cur, "legal_entity": f"{account.get('country') or 'US'}01",
         "credit_limit_minor": _CREDIT.get(account.get("segment") or "", _CREDIT["smb"])},
        key=key("erp-customer"), corr=corr,
    )  # fmt: skip
    domain = (account.get("website") or "").removeprefix("https://").removeprefix("http://")
    domain = domain.strip("/") or f"{acct.lower().replace('_', '-')}.example.com"
    billing_customer = await sys.upsert(
        "billing", "/customers", acct, {**links, "currency": cur, "email": f"billing@{domain}",
                                        "payment_method": _TEST_CARD},
        key=key("billing-customer"), corr=corr,
    )  # fmt: skip
    org = await sys.upsert(
        "support",
        "/organizations",
        acct,
        {**links, "domain": domain},
        key=key("support-organization"),
        corr=corr,
    )
    term, amounts = quote["term_months"], _amounts(quote)
    order_lines = [
        {"sku": line["sku"], "quantity": line["quantity"],
         "unit_price_minor": amount // max(line["quantity"], 1)}
        for line, amount in amounts
    ]  # fmt: skip
    await sys.upsert(
        "erp", "/sales-orders", opp["id"],
        {"customer_id": erp_customer["id"], "currency": cur, "opportunity_id": opp["id"],
         "quote_id": quote["id"], "lines": order_lines, "memo": f"{opp['name']} ({quote['id']})"},
        key=key("erp-order"), corr=corr,
    )  # fmt: skip
    items = [
        {"sku": line["sku"], "quantity": line["quantity"],
         "unit_amount_minor": amount // (max(line["quantity"], 1) * term),
         "usage_based": line["billing_type"] == "usage"}
        for line, amount in amounts if line["billing_type"] != "one_time"
    ]  # fmt: skip
    sub = await sys.upsert(
        "billing", "/subscriptions", opp["id"],
        {"customer_id": billing_customer["id"], "currency": cur, "quote_id": quote["id"],
         "term_months": term, "items": items},
        key=key("billing-subscription"), corr=corr,
    )  # fmt: skip
    support = [line["sku"] for line, _ in amounts if line["sku"].startswith("SUP-")]
    sku = support[-1] if support else quote["lines"][0]["sku"]
    start = date.fromisoformat(sub["start_date"])
    await sys.upsert(
        "support", "/entitlements", sub["id"],
        {"organization_id": org["id"], "subscription_id": sub["id"], "sku": sku,
         "support_tier": _TIERS.get(sku.rsplit("-", 1)[-1], "standard") if support else "standard",
         "status": "active", "start_date": start.isoformat(),
         "end_date": _add_months(start, term).isoformat()},
        key=key("support-entitlement"), corr=corr,
    )  # fmt: skip


async def _deal_of_subscription(sys: Systems, sub_id: str | None) -> str | None:
    """The opportunity id (the correlation id) behind a billing subscription."""
    if not sub_id:
        return None
    sub = await sys.call("billing", "GET", f"/subscriptions/{sub_id}", corr=None)
    return str(sub["external_id"]) if sub.get("external_id") else None


async def ar_invoice(sys: Systems, job: Job) -> None:
    inv = job.event["data"]
    corr = await _deal_of_subscription(sys, inv.get("subscription_id")) or job.correlation_id
    order = await sys.find("erp", "/sales-orders", corr, external_id=corr) if corr else None
    if order is None:  # reordering: the invoice came before its deal was fulfilled
        raise Parked(f"no ERP order for invoice {inv['id']} (deal {corr}) yet")
    await sys.upsert(
        "erp", "/invoices", inv["id"],
        {"customer_id": order["customer_id"], "sales_order_id": order["id"],
         "currency": inv["currency"], "subtotal_minor": inv["subtotal_minor"],
         "tax_minor": inv["tax_minor"], "memo": f"Billing invoice {inv['number']}"},
        key=f"{job.event_id}:erp-ar-invoice", corr=corr,
    )  # fmt: skip


async def receipt(sys: Systems, job: Job) -> None:
    pay = job.event["data"]
    ar = await sys.find("erp", "/invoices", job.correlation_id, external_id=pay["invoice_id"])
    if ar is None:  # the payment came before the invoice's AR invoice was posted
        raise Parked(f"no AR invoice for billing invoice {pay['invoice_id']} yet")
    await sys.upsert(
        "erp", "/receipts", pay["id"],
        {"customer_id": ar["customer_id"], "amount_minor": pay["amount_minor"],
         "currency": pay["currency"],
         "applications": [{"ar_invoice_id": ar["id"], "amount_minor": pay["amount_minor"]}]},
        key=f"{job.event_id}:erp-receipt", corr=ar.get("correlation_id") or job.correlation_id,
    )  # fmt: skip


async def _entitlement(sys: Systems, sub: dict[str, Any]) -> Any:
    ent = await sys.find("support", "/entitlements", sub.get("external_id"), external_id=sub["id"])
    if ent is None:
        raise Parked(f"no entitlement for subscription {sub['id']} yet")
    return ent


async def suspend(sys: Systems, job: Job) -> None:
    sub = job.event["data"]
    ent = await _entitlement(sys, sub)
    if ent["status"] == "active":
        await sys.call(
            "support", "POST", f"/entitlements/{ent['id']}/suspend",
            key=f"{job.event_id}:suspend", corr=sub.get("external_id"),
        )  # fmt: skip


async def extend(sys: Systems, job: Job) -> None:
    """A renewed subscription's entitlement runs to the end of the new term.

    Support expires it at 00:00 of its end date, the instant billing renews, so it is
    often expired already: the new end date renews it (docs/middlewares.md).
    """
    sub = job.event["data"]
    ent = await _entitlement(sys, sub)
    # The renewal starts the new term's first period; the term is term_months long.
    term_start = date.fromisoformat(sub["current_period_start"][:10])
    term_end = _add_months(term_start, int(sub["term_months"])).isoformat()
    if ent["status"] in ("active", "expired") and (ent["end_date"] or "") < term_end:
        await sys.call(
            "support", "PATCH", f"/entitlements/{ent['id']}",
            json={"end_date": term_end},
            key=f"{job.event_id}:extend", corr=sub.get("external_id"),
        )  # fmt: skip


HANDLERS: dict[tuple[str, str], Callable[[Systems, Job], Awaitable[None]]] = {
    ("crm", "opportunity.closed_won"): closed_won,
    ("billing", "invoice.finalized"): ar_invoice,
    ("billing", "payment.succeeded"): receipt,
    ("billing", "subscription.canceled"): suspend,
    ("billing", "subscription.renewed"): extend,
}
EVENTS: dict[str, list[str]] = {}
for _system, _type in HANDLERS:
    EVENTS.setdefault(_system, []).append(_type)


def correlation_of(event: dict[str, Any]) -> str | None:
    """The deal an event belongs to: the opportunity id, when the event can tell."""
    data = event.get("data") or {}
    if event.get("type", "").startswith("opportunity."):
        return str(data.get("id"))
    return event.get("correlation_id") or data.get("correlation_id")


async def handle(sys: Systems, job: Job) -> None:
    """Run the flow of one stored event (types without a flow are acknowledged only)."""
    flow = HANDLERS.get((job.system, job.type))
    if flow is not None:
        await flow(sys, job)
