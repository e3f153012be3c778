"""Billing periods of a subscription: usage, invoices, payments with failures and dunning,
and the ERP side of each (AR invoice, receipt, balanced journal entries).

Dunning follows Stripe's smart retries: a failed charge retries after 3, 5 and 7
days; then the invoice is uncollectible and the subscription unpaid until the
customer pays or the subscription is canceled (involuntary churn).
"""

from __future__ import annotations

from lifecycle.money import apply_bps
from lifecycle.synth._accounts import AccountCtx
from lifecycle.synth._catalog import PRODUCTS
from lifecycle.synth._fulfil import Contract, touch
from lifecycle.synth._time import (
    US_PER_DAY,
    US_PER_HOUR,
    add_months,
    day_str,
    month_str,
    ts,
    us_of_date,
)
from lifecycle.synth._world import Obj, World

__all__ = ["bill", "set_sub_status"]

_FAIL_P = {"smb": 0.06, "mid_market": 0.03, "enterprise": 0.0}
_GOOD, _DECLINED = "4242424242424242", "4000000000000341"
_RETRY_DAYS = (0, 3, 8, 15)
_SUB_EVENTS = {"past_due": "past_due", "unpaid": "unpaid", "canceled": "canceled",
               "active": "updated"}  # fmt: skip
_ENT_EVENTS = {"active": "activated", "suspended": "suspended", "expired": "expired"}


def set_sub_status(w: World, c: Contract, status: str, at: int, **extra: object) -> None:
    """Move the subscription (and its entitlement) to ``status`` at ``at``."""
    if c.subscription["status"] == status:
        return
    touch(w, c.subscription, at, status=status, **extra)
    c.status_times.append((status, at))
    w.event(at, "billing", f"subscription.{_SUB_EVENTS[status]}", c.subscription,
            {"status": status, "version": c.subscription["version"]})  # fmt: skip
    ent_status = {"active": "active", "past_due": "active", "unpaid": "suspended",
                  "canceled": "expired"}[status]  # fmt: skip
    ent = c.entitlement
    if ent["status"] != ent_status and ent["status"] != "expired":
        changes: Obj = {"status": ent_status}
        if ent_status == "expired":
            changes["end_date"] = day_str(at)
        touch(w, ent, at, **changes)
        w.event(at, "support", f"entitlement.{_ENT_EVENTS[ent_status]}", ent,
                {"status": ent_status, "version": ent["version"]})  # fmt: skip


def _journal(
    w: World, acct: AccountCtx, at: int, cur: str, memo: str, source: tuple[str, str],
    lines: list[tuple[str, int, int]],
) -> Obj:  # fmt: skip
    je = w.new("journal_entry", at)
    je.update(
        legal_entity=acct.country.legal_entity, posting_date=day_str(at), period=month_str(at),
        currency=cur, memo=memo, source_type=source[0], source_id=source[1],
        lines=[{"account": a, "debit_minor": d, "credit_minor": c} for a, d, c in lines if d or c],
    )  # fmt: skip
    w.event(at, "erp", "journal_entry.posted", je)
    return je


def _usage(w: World, c: Contract, start_us: int, end_us: int) -> dict[int, int]:
    """Usage records of each usage item over a period; returns the quantity per item index."""
    used: dict[int, int] = {}
    rng = w.rng
    start_us = max(start_us, c.created_us)  # the first period starts on the day of the close
    span = end_us - start_us
    for n, item in enumerate(c.items):
        if not item.usage:
            continue
        total = int(item.obj["quantity"] * rng.uniform(0.6, 1.4))
        used[n] = total
        share = total // 4
        for k in range(4):
            at = start_us + int(span * (k + rng.random()) / 4)
            ur = w.new("usage_record", at, correlation_id=None)
            ur.update(subscription_id=c.subscription["id"], subscription_item_id=item.obj["id"],
                      quantity=share if k < 3 else total - 3 * share, timestamp=ts(at))  # fmt: skip
            w.event(at, "billing", "usage_record.created", ur)
    return used


def bill(w: World, acct: AccountCtx, c: Contract, stop_us: int | None) -> int | None:
    """Bill ``c`` period by period until its end, the world's now or ``stop_us``.

    Returns the instant dunning canceled the subscription, if it did.
    """
    sub = c.subscription
    for n in range(c.deal.term_months):
        ps, pe = add_months(c.start, n), add_months(c.start, n + 1)
        ps_us, pe_us = us_of_date(ps), us_of_date(pe)
        if stop_us is not None and pe_us > stop_us:
            break
        sub["current_period_start"], sub["current_period_end"] = ps.isoformat(), pe.isoformat()
        if pe_us > w.as_of_us:
            break
        used = _usage(w, c, ps_us, pe_us)
        canceled = _invoice(w, acct, c, n, ps.isoformat(), pe.isoformat(), pe_us, used)
        if canceled is not None:
            return canceled
    return None


def _invoice(
    w: World, acct: AccountCtx, c: Contract, n: int, ps: str, pe: str, pe_us: int,
    used: dict[int, int],
) -> int | None:  # fmt: skip
    rng = w.rng
    created = pe_us + int(rng.uniform(1, 2) * US_PER_HOUR)
    if created > w.as_of_us:
        return None
    bc, cur = acct.billing_customer, acct.country.currency
    assert bc is not None
    lines = []
    for k, item in enumerate(c.items):
        io = item.obj
        qty = used[k] if item.usage else io["quantity"]
        unit = io["unit_amount_minor"]
        lines.append({"kind": "usage" if item.usage else "recurring", "sku": io["sku"],
                      "description": f"{PRODUCTS[item.product].name} {ps} - {pe}",
                      "quantity": qty, "unit_amount_minor": unit,
                      "amount_minor": qty * unit})  # fmt: skip
    if n == 0:
        for i, qty, amount in c.one_time:
            lines.append({"kind": "one_time", "sku": PRODUCTS[i].sku,
                          "description": PRODUCTS[i].name, "quantity": qty,
                          "unit_amount_minor": amount // qty, "amount_minor": amount})  # fmt: skip
    subtotal = sum(line["amount_minor"] for line in lines)
    tax = apply_bps(subtotal, acct.country.vat_bps)
    total = subtotal + tax
    inv = w.new("invoice", created, correlation_id=c.corr)
    by_invoice = acct.segment == "enterprise"
    finalized = created + US_PER_HOUR
    due = finalized + (30 * US_PER_DAY if by_invoice else 0)
    inv.update(
        customer_id=bc["id"], subscription_id=c.subscription["id"],
        number=f"{c.subscription['id'][4:12].upper()}-{n + 1:04d}", status="draft",
        currency=cur, period_start=ps, period_end=pe, lines=lines, subtotal_minor=subtotal,
        tax_minor=tax, total_minor=total, amount_paid_minor=0, amount_credited_minor=0,
        amount_remaining_minor=total, due_date=day_str(due), attempt_count=0,
        finalized_at=None, paid_at=None,
    )  # fmt: skip
    w.event(created, "billing", "invoice.created", inv, {"status": "draft", "version": 1})
    if finalized > w.as_of_us:
        return None
    touch(w, inv, finalized, status="open", finalized_at=ts(finalized))
    w.event(finalized, "billing", "invoice.finalized", inv, {"status": "open", "version": 2})
    ar_at = finalized + int(rng.uniform(60, 600)) * 1_000_000
    ar = _post_ar(w, acct, c, inv, ar_at)
    if by_invoice:  # send_invoice: paid by bank transfer within the terms, sometimes late
        paid = finalized + w.days(5, 45)
        if paid <= w.as_of_us:
            _pay(w, acct, c, inv, (ar, ar_at), paid, "ach_credit_transfer", ok=True)
        return None
    first = finalized + int(rng.uniform(1, 10) * 60_000_000)
    for k, offset in enumerate(_RETRY_DAYS):
        at = first + offset * US_PER_DAY
        if at > w.as_of_us:
            return None
        ok = rng.random() >= (_FAIL_P[acct.segment] if k == 0 else 0.45)
        _pay(w, acct, c, inv, (ar, ar_at), at, _GOOD if ok else _DECLINED, ok)
        if ok:
            if c.subscription["status"] == "past_due":
                set_sub_status(w, c, "active", at)
            return None
        if k == 0:
            set_sub_status(w, c, "past_due", at)
    at = first + _RETRY_DAYS[-1] * US_PER_DAY + 60_000_000
    touch(w, inv, at, status="uncollectible")
    w.event(at, "billing", "invoice.marked_uncollectible", inv,
            {"status": "uncollectible", "version": inv["version"]})  # fmt: skip
    set_sub_status(w, c, "unpaid", at)
    if rng.random() < 0.5:  # the customer updates the card and pays
        paid = at + w.days(3, 9)
        if paid <= w.as_of_us:
            _pay(w, acct, c, inv, (ar, ar_at), paid, _GOOD, ok=True)
            set_sub_status(w, c, "active", paid)
        return None
    cancel = at + 11 * US_PER_DAY
    if cancel > w.as_of_us:
        return None
    set_sub_status(w, c, "canceled", cancel, canceled_at=ts(cancel))
    return cancel


def _post_ar(w: World, acct: AccountCtx, c: Contract, inv: Obj, at: int) -> Obj:
    ec = acct.erp_customer
    assert ec is not None
    ar = w.new("ar_invoice", at, external_id=inv["id"], correlation_id=c.corr)
    cur = inv["currency"]
    je = _journal(w, acct, at, cur, f"AR invoice {inv['number']}", ("ar_invoice", ar["id"]),
                  [("1200", inv["total_minor"], 0), ("4000", 0, inv["subtotal_minor"]),
                   ("2200", 0, inv["tax_minor"])])  # fmt: skip
    ar.update(
        customer_id=ec["id"], sales_order_id=c.order["id"], status="open", currency=cur,
        posting_date=day_str(at), period=month_str(at), subtotal_minor=inv["subtotal_minor"],
        tax_minor=inv["tax_minor"], total_minor=inv["total_minor"],
        amount_due_minor=inv["total_minor"], journal_entry_id=je["id"],
        memo=f"Billing invoice {inv['number']}",
    )  # fmt: skip
    w.event(at, "erp", "ar_invoice.posted", ar)
    if c.order["status"] == "fulfilled":
        touch(w, c.order, at, status="invoiced")
        w.event(at, "erp", "order.invoiced", c.order, {"status": "invoiced"})
    return ar


def _pay(
    w: World, acct: AccountCtx, c: Contract, inv: Obj, ar_posted: tuple[Obj, int], at: int,
    method: str, ok: bool,
) -> None:  # fmt: skip
    """A payment attempt; a successful one is received in the ERP after the AR invoice exists.

    A card is charged minutes after finalization, while the ERP posts the AR invoice 1-10
    minutes after it too: the receipt waits for whichever comes last.
    """
    ar, ar_at = ar_posted
    bc = acct.billing_customer
    assert bc is not None
    pay = w.new("payment", at, correlation_id=c.corr)
    pay.update(invoice_id=inv["id"], customer_id=bc["id"], amount_minor=inv["total_minor"],
               currency=inv["currency"], status="succeeded" if ok else "failed",
               payment_method=method, failure_code=None if ok else "card_declined")  # fmt: skip
    inv["attempt_count"] += 1
    w.event(at, "billing", f"payment.{'succeeded' if ok else 'failed'}", pay)
    if not ok:
        touch(w, inv, at)
        return
    touch(w, inv, at, status="paid", paid_at=ts(at), amount_paid_minor=inv["total_minor"],
          amount_remaining_minor=0)  # fmt: skip
    w.event(at, "billing", "invoice.paid", inv, {"status": "paid", "version": inv["version"]})
    received = max(at, ar_at) + int(w.rng.uniform(5, 240) * 60_000_000)
    if received > w.as_of_us:
        return
    ec = acct.erp_customer
    assert ec is not None
    rc = w.new("receipt", received, external_id=pay["id"], correlation_id=c.corr)
    je = _journal(w, acct, received, inv["currency"], f"Receipt for {inv['number']}",
                  ("receipt", rc["id"]), [("1000", inv["total_minor"], 0),
                                          ("1200", 0, inv["total_minor"])])  # fmt: skip
    rc.update(customer_id=ec["id"], amount_minor=inv["total_minor"], currency=inv["currency"],
              received_date=day_str(received), period=month_str(received),
              applications=[{"ar_invoice_id": ar["id"], "amount_minor": inv["total_minor"]}],
              journal_entry_id=je["id"])  # fmt: skip
    w.event(received, "erp", "receipt.applied", rc)
    touch(w, ar, received, status="paid", amount_due_minor=0)
    w.event(received, "erp", "ar_invoice.paid", ar, {"status": "paid"})
    if w.rng.random() < 0.01:
        _credit_note(w, acct, c, inv, received + w.days(2, 20))


def _credit_note(w: World, acct: AccountCtx, c: Contract, inv: Obj, at: int) -> None:
    amount = inv["total_minor"] // 10
    if at > w.as_of_us or amount <= 0:
        return
    cn = w.new("credit_note", at, correlation_id=c.corr)
    cn.update(
        invoice_id=inv["id"],
        amount_minor=amount,
        currency=inv["currency"],
        reason="product_unsatisfactory",
    )
    touch(w, inv, at, amount_credited_minor=amount)
    w.event(at, "billing", "credit_note.created", cn)
    _journal(
        w,
        acct,
        at,
        inv["currency"],
        f"Refund on {inv['number']}",
        ("credit_note", cn["id"]),
        [("4000", amount, 0), ("1000", 0, amount)],
    )
