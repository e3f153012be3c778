"""Closed-won deals: one order, one subscription, one active entitlement, at the quote's prices.

The links are those of docs/sut-contract.md (the linking table): the order and the
subscription carry the opportunity id as ``external_id``, the entitlement the
subscription id; order lines are the quote's net prices after the header discount,
subscription items spread the recurring lines over ``term_months``.
"""

from __future__ import annotations

from datetime import date, datetime

from lifecycle.dates import add_months
from scenarios.oracle._context import Ctx
from scenarios.oracle._model import Obj

__all__ = ["check_deals"]

# Subscription statuses under which the customer is entitled to support.
_ENTITLED = frozenset({"active", "past_due", "trialing"})


def check_deals(ctx: Ctx) -> None:
    quotes = ctx.snap.by_id("quote")
    for opp in ctx.snap.of("opportunity"):
        if opp.get("stage") != "closed_won":
            continue
        corr = opp["id"]
        closed = ctx.when(opp, ("opportunity.closed_won",), "closed_at")
        order = _one(ctx, "order_per_deal", "sales_order", "ERP sales order", opp, closed,
                     opp["id"], "opportunity_id")  # fmt: skip
        sub = _one(ctx, "subscription_per_deal", "subscription", "billing subscription", opp,
                   closed, opp.get("primary_quote_id") or "", "quote_id")  # fmt: skip
        if order is not None:
            _linked(ctx, "order_per_deal", opp, order, "erp_customer", "customer_id")
        if sub is not None:
            _linked(ctx, "subscription_per_deal", opp, sub, "billing_customer", "customer_id")
        quote_id = (order or sub or {}).get("quote_id") or opp.get("primary_quote_id")
        quote = quotes.get(quote_id or "")
        if order is not None or sub is not None:
            ctx.checked("amounts_agree")
            if quote is None:
                ids = [opp["id"], (order or {}).get("id", ""), (sub or {}).get("id", "")]
                ctx.fail("amounts_agree", f"the quote {quote_id} of the deal does not exist",
                         ids, corr)  # fmt: skip
            else:
                _amounts(ctx, opp, quote, order, sub)
        if order is not None:
            at = ctx.when(order, ("order.created",), "created_at")
            ctx.latency("close -> order", ctx.slos.close_to_order_s, closed, at,
                        [opp["id"], order["id"]], corr)  # fmt: skip
        if sub is not None:
            _entitlement(ctx, opp, order, sub)


def _one(
    ctx: Ctx, invariant: str, object_type: str, label: str, opp: Obj, closed: datetime | None,
    source: str, field_name: str,
) -> Obj | None:  # fmt: skip
    """The single object of ``object_type`` the deal caused, or None (after a violation).

    Found by its ``external_id`` (the link) or, for one made without it, ``field_name``;
    one that lacks the external id is a violation too (nothing could look it up).
    """
    found = ctx.snap.linked(object_type, opp["id"], None)
    found += [o for o in ctx.snap.linked(object_type, source, field_name) if o not in found]
    ctx.checked(invariant)
    if len(found) == 1:
        if found[0].get("external_id") != opp["id"]:
            ctx.fail(invariant, f"{label} {found[0]['id']} of opportunity {opp['id']} has "
                     f"external_id {found[0].get('external_id')}, not the opportunity id",
                     [opp["id"], found[0]["id"]], opp["id"])  # fmt: skip
        return found[0]
    if not found:
        if not ctx.pending(invariant, closed, ctx.slos.close_to_order_s):
            ctx.fail(invariant, f"closed-won opportunity {opp['id']} has no {label}",
                     [opp["id"]], opp["id"])  # fmt: skip
        return None
    ids = [o["id"] for o in found]
    ctx.fail(invariant, f"closed-won opportunity {opp['id']} has {len(found)} {label}s: "
             f"{', '.join(ids)}", [opp["id"], *ids], opp["id"])  # fmt: skip
    return None


def _entitlement(ctx: Ctx, opp: Obj, order: Obj | None, sub: Obj) -> None:
    corr = opp["id"]
    found = ctx.snap.linked("entitlement", sub["id"], "subscription_id")
    ctx.checked("entitlement_per_deal")
    started = ctx.when(order, ("order.created",), "created_at") if order else None
    if started is None:
        started = ctx.when(sub, ("subscription.created",), "created_at")
    if not found:
        if not ctx.pending("entitlement_per_deal", started, ctx.slos.order_to_entitlement_s):
            ctx.fail("entitlement_per_deal", f"subscription {sub['id']} of opportunity "
                     f"{opp['id']} has no support entitlement", [opp["id"], sub["id"]],
                     corr)  # fmt: skip
        return
    if len(found) > 1:
        ids = [e["id"] for e in found]
        ctx.fail("entitlement_per_deal", f"subscription {sub['id']} has {len(found)} "
                 f"entitlements: {', '.join(ids)}", [opp["id"], sub["id"], *ids],
                 corr)  # fmt: skip
        return
    ent = found[0]
    ids = [opp["id"], sub["id"], ent["id"]]
    if ent.get("external_id") != sub["id"]:
        ctx.fail("entitlement_per_deal", f"entitlement {ent['id']} has external_id "
                 f"{ent.get('external_id')}, not subscription {sub['id']}", ids, corr)  # fmt: skip
    if sub.get("status") in _ENTITLED and ent.get("status") != "active":
        ctx.fail("entitlement_per_deal", f"entitlement {ent['id']} is {ent.get('status')} "
                 f"while subscription {sub['id']} is {sub.get('status')}", ids, corr)  # fmt: skip
    elif ent.get("status") == "active" and str(ent.get("end_date") or "") < _term_end(sub):
        # A renewal may extend the entitlement; ending before the term is a defect.
        ctx.fail("entitlement_per_deal", f"entitlement {ent['id']} ends {ent.get('end_date')}, "
                 f"before subscription {sub['id']}'s term ends {_term_end(sub)}", ids,
                 corr)  # fmt: skip
    _linked(ctx, "entitlement_per_deal", opp, ent, "organization", "organization_id")
    if order is not None:
        ctx.latency("order -> entitlement", ctx.slos.order_to_entitlement_s, started,
                    ctx.when(ent, ("entitlement.created",), "created_at"),
                    [opp["id"], order["id"], ent["id"]], corr)  # fmt: skip


def _linked(
    ctx: Ctx, invariant: str, opp: Obj, obj: Obj, customer_type: str, field_name: str
) -> None:
    """``obj`` names the account's own record of ``customer_type`` (``external_id`` = the
    CRM account id)."""
    customer = ctx.snap.by_id(customer_type).get(str(obj.get(field_name)))
    account = opp.get("account_id")
    if customer is None or customer.get("external_id") != account:
        ctx.fail(invariant, f"{obj['id']}'s {field_name} {obj.get(field_name)} is not the "
                 f"{customer_type} of account {account}", [opp["id"], obj["id"]],
                 opp["id"])  # fmt: skip


def _term_end(sub: Obj) -> str:
    try:
        start = date.fromisoformat(str(sub.get("start_date")))
    except ValueError:
        return ""
    return add_months(start, int(sub.get("term_months") or 0)).isoformat()


def _net(quote: Obj, line: Obj) -> int:
    """A quote line's amount after the header discount (integer minor units, floored)."""
    bps = int(quote.get("discount_bps") or 0)
    return int(line["net_minor"]) * (10_000 - bps) // 10_000


def _amounts(ctx: Ctx, opp: Obj, quote: Obj, order: Obj | None, sub: Obj | None) -> None:
    problems: list[str] = []
    lines = list(quote.get("lines") or [])
    cur = quote.get("currency")
    if order is not None:
        if order.get("currency") != cur:
            problems.append(f"order {order['id']} is in {order.get('currency')}, quote in {cur}")
        o_lines = {int(x["line_no"]): x for x in order.get("lines") or []}
        for n, q in enumerate(lines, start=1):
            o = o_lines.get(n)
            want = _net(quote, q)
            if o is None or o.get("sku") != q.get("sku"):
                problems.append(f"order {order['id']} has no line {n} ({q.get('sku')})")
            elif int(o["amount_minor"]) != want:
                problems.append(f"order {order['id']} line {n} ({q.get('sku')}) is "
                                f"{o['amount_minor']}, the quote says {want}")  # fmt: skip
        if len(o_lines) > len(lines):
            problems.append(f"order {order['id']} has {len(o_lines)} lines, the quote {len(lines)}")
        total = sum(_net(quote, q) for q in lines)
        if int(order.get("total_minor") or 0) - int(order.get("tax_minor") or 0) != total:
            problems.append(f"order {order['id']} totals {order.get('total_minor')} before "
                            f"tax {order.get('tax_minor')}, the quote {total}")  # fmt: skip
    if sub is not None:
        problems += _subscription_amounts(quote, sub)
    if problems:
        ids = [opp["id"], quote["id"], (order or {}).get("id", ""), (sub or {}).get("id", "")]
        ctx.fail("amounts_agree", "; ".join(problems), ids, opp["id"])


def _subscription_amounts(quote: Obj, sub: Obj) -> list[str]:
    problems = []
    cur = quote.get("currency")
    if sub.get("currency") != cur:
        problems.append(f"subscription {sub['id']} is in {sub.get('currency')}, quote in {cur}")
    term = int(sub.get("term_months") or quote.get("term_months") or 1)
    items = {i.get("sku"): i for i in sub.get("items") or []}
    wanted = {q.get("sku"): q for q in quote.get("lines") or [] if q.get("billing_type")
              != "one_time"}  # fmt: skip
    for sku, q in wanted.items():
        item = items.get(sku)
        want = _net(quote, q)
        if item is None:
            problems.append(f"subscription {sub['id']} has no item {sku}")
            continue
        got = int(item["unit_amount_minor"]) * int(item["quantity"]) * term
        if got != want:
            problems.append(f"subscription {sub['id']} item {sku} comes to {got} over "
                            f"{term} months, the quote says {want}")  # fmt: skip
    for sku in items.keys() - wanted.keys():
        problems.append(f"subscription {sub['id']} has item {sku} the quote does not sell")
    return problems
