"""What a correct middleware makes of a closed-won deal: one order, subscription, entitlement.

Also the account's customer records in billing, support and ERP (once, at the first win),
each carrying the CRM account id as ``crm_account_id`` and ``external_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lifecycle.pricing import BillingType
from lifecycle.synth._accounts import AccountCtx
from lifecycle.synth._catalog import PRODUCTS
from lifecycle.synth._deals import Deal
from lifecycle.synth._time import add_months, ts, us_of_date
from lifecycle.synth._world import Obj, World

__all__ = ["Contract", "SubItem", "fulfil", "touch"]

_CREDIT = {"smb": 5_000_000, "mid_market": 50_000_000, "enterprise": 500_000_000}
_GOOD_CARD = "4242424242424242"


@dataclass
class SubItem:
    obj: Obj  # the subscription item record
    product: int
    usage: bool


@dataclass
class Contract:
    """One won deal's downstream records and its term."""

    deal: Deal
    order: Obj
    subscription: Obj
    entitlement: Obj
    items: list[SubItem]
    one_time: list[tuple[int, int, int]]  # (product index, quantity, amount after discounts)
    start: date
    end: date
    corr: str
    created_us: int  # when the subscription was made: nothing of it happens earlier
    status_times: list[tuple[str, int]] = field(default_factory=list)  # subscription path


def touch(w: World, obj: Obj, at_us: int, **changes: object) -> None:
    """Apply a change to ``obj`` at ``at_us``: new values, version + 1, updated_at."""
    obj.update(changes)
    obj["version"] += 1
    obj["updated_at"] = ts(at_us)


def _customers(w: World, acct: AccountCtx, at_us: int) -> int:
    """The account's customer in billing, support and ERP, made one after another from
    ``at_us`` (once, at the first win); returns when the last of them exists."""
    if acct.billing_customer is not None:
        return at_us
    a = acct.obj
    cur = acct.country.currency
    at_us += w.days(0.0002, 0.002)
    bc = w.new("billing_customer", at_us, external_id=a["id"])
    bc.update(name=a["name"], email=f"billing@{acct.domain}", currency=cur,
              crm_account_id=a["id"], payment_method=_GOOD_CARD)  # fmt: skip
    w.event(at_us, "billing", "customer.created", bc)
    at_us += w.days(0.0002, 0.002)
    org = w.new("organization", at_us, external_id=a["id"])
    org.update(name=a["name"], crm_account_id=a["id"], domain=acct.domain)
    w.event(at_us, "support", "organization.created", org)
    at_us += w.days(0.0002, 0.002)
    ec = w.new("erp_customer", at_us, external_id=a["id"])
    ec.update(name=a["name"], legal_entity=acct.country.legal_entity, currency=cur,
              credit_limit_minor=_CREDIT[acct.segment] * acct.country.usd_rate_ppm // 1_000_000,
              tax_exempt=acct.country.vat_bps == 0 and acct.country.code != "US",
              crm_account_id=a["id"])  # fmt: skip
    w.event(at_us, "erp", "customer.created", ec)
    acct.billing_customer, acct.organization, acct.erp_customer = bc, org, ec
    return at_us


def fulfil(w: World, acct: AccountCtx, deal: Deal, start: date) -> Contract:
    """The order, subscription and entitlement of a won deal, created minutes after the close.

    Each record exists before anything that follows from it: customers, then the order,
    the subscription, and the entitlement, each stamped (and announced) when it is made.
    """
    ready = _customers(w, acct, deal.close_us)
    assert acct.billing_customer
    assert acct.organization
    assert acct.erp_customer
    opp, quote = deal.opp, deal.quote
    assert quote is not None
    corr = opp["id"]
    cur = acct.country.currency
    h = deal.header_pct
    term = deal.term_months
    at = ready + w.days(0.0005, 0.005)
    order = w.new("sales_order", at, external_id=opp["id"], correlation_id=corr)
    sub_at = at + w.days(0.0005, 0.005)
    sub = w.new("subscription", sub_at, external_id=opp["id"], correlation_id=corr)
    order_lines = []
    items: list[SubItem] = []
    one_time = []
    support_sku = None
    for n, ((i, qty, _pct), q_line) in enumerate(zip(deal.lines, quote["lines"], strict=True)):
        amount = q_line["net_minor"] * (100 - h) // 100  # exact: see _catalog's price quantum
        d = PRODUCTS[i]
        order_lines.append({
            "line_no": n + 1, "item_id": w.catalog.items[i]["id"], "sku": d.sku,
            "quantity": qty, "unit_price_minor": amount // qty, "amount_minor": amount,
        })  # fmt: skip
        if d.support_tier:
            support_sku = d.sku
        if d.billing_type is BillingType.ONE_TIME:
            one_time.append((i, qty, amount))
            continue
        unit = amount // (qty * term)
        items.append(SubItem({
            "id": f"si_{sub['id'][4:]}_{n + 1}", "sku": d.sku, "quantity": qty,
            "unit_amount_minor": unit, "usage_based": d.billing_type is BillingType.USAGE,
        }, i, d.billing_type is BillingType.USAGE))  # fmt: skip
    total = sum(line["amount_minor"] for line in order_lines)
    order.update(
        customer_id=acct.erp_customer["id"], status="pending_approval", currency=cur,
        order_date=ts(deal.close_us)[:10], lines=order_lines, subtotal_minor=total, tax_minor=0,
        total_minor=total, quote_id=quote["id"], opportunity_id=opp["id"],
        memo=f"{opp['name']} ({quote['id']})",
    )  # fmt: skip
    w.event(at, "erp", "order.created", order)
    end = add_months(start, term)
    sub.update(
        customer_id=acct.billing_customer["id"], status="active", currency=cur,
        items=[it.obj for it in items], quote_id=quote["id"], term_months=term,
        start_date=start.isoformat(), current_period_start=start.isoformat(),
        current_period_end=add_months(start, 1).isoformat(), trial_end=None,
        cancel_at_period_end=False, canceled_at=None,
    )  # fmt: skip
    w.event(sub_at, "billing", "subscription.created", sub, {"status": "active", "version": 1})
    ent_at = sub_at + w.days(0.0005, 0.005)
    ent = w.new("entitlement", ent_at, external_id=sub["id"], correlation_id=corr)
    platform = next(PRODUCTS[i].sku for i, _, _ in deal.lines)
    tier = next((p.support_tier for p in PRODUCTS if p.sku == support_sku), None)
    ent.update(
        organization_id=acct.organization["id"], sku=support_sku or platform,
        support_tier=tier or "standard", status="active", start_date=start.isoformat(),
        end_date=end.isoformat(), subscription_id=sub["id"],
    )  # fmt: skip
    w.event(ent_at, "support", "entitlement.created", ent, {"status": "active", "version": 1})
    w.event(ent_at, "support", "entitlement.activated", ent, {"status": "active", "version": 1})
    contract = Contract(deal, order, sub, ent, items, one_time, start, end, corr, sub_at)
    contract.status_times.append(("active", sub_at))
    acct.entitlements.append((us_of_date(start), us_of_date(end), ent))
    _advance_order(w, contract, at)
    return contract


def _advance_order(w: World, c: Contract, created_us: int) -> None:
    """pending_approval -> booked -> fulfilled (provisioned) as of now; invoiced later."""
    booked = created_us + w.days(0.02, 1)
    fulfilled = booked + w.days(0.05, 2)
    for status, at in (("booked", booked), ("fulfilled", fulfilled)):
        if at > w.as_of_us:
            return
        touch(w, c.order, at, status=status)
        w.event(at, "erp", f"order.{status}", c.order, {"status": status})
