"""Money after the deal: invoices to AR invoices, payments to receipts, the general ledger.

Links of docs/sut-contract.md: an AR invoice carries the billing invoice id as
``external_id``, a receipt the billing payment id; postings (journal entries, AR
invoices, receipts) belong to the period of their posting (or received) date.
"""

from __future__ import annotations

from collections import defaultdict

from scenarios.oracle._context import Ctx
from scenarios.oracle._model import Obj, parse_time

__all__ = ["check_invoices", "check_ledger", "check_payments", "check_periods"]

# Billing invoices that exist for the ledger: finalized and not voided.
_POSTED = frozenset({"open", "paid", "uncollectible"})


def _corr(*objs: Obj | None) -> str | None:
    return next((o["correlation_id"] for o in objs if o and o.get("correlation_id")), None)


def check_invoices(ctx: Ctx) -> None:
    for inv in ctx.snap.of("invoice"):
        if inv.get("status") not in _POSTED:
            continue
        ctx.checked("ar_invoice_per_invoice")
        corr = _corr(inv)
        found = [a for a in ctx.snap.by_external_id("ar_invoice").get(inv["id"], [])
                 if a.get("status") != "void"]  # fmt: skip
        finalized = ctx.when(inv, ("invoice.finalized",), "finalized_at")
        if not found:
            if not ctx.pending("ar_invoice_per_invoice", finalized,
                               ctx.slos.invoice_to_ar_invoice_s):  # fmt: skip
                ctx.fail("ar_invoice_per_invoice", f"invoice {inv['id']} has no ERP AR invoice",
                         [inv["id"]], corr)  # fmt: skip
            continue
        ids = [a["id"] for a in found]
        if len(found) > 1:
            ctx.fail("ar_invoice_per_invoice", f"invoice {inv['id']} has {len(found)} AR "
                     f"invoices: {', '.join(ids)}", [inv["id"], *ids], corr)  # fmt: skip
            continue
        ar = found[0]
        if (ar.get("total_minor"), ar.get("currency")) != (inv["total_minor"], inv["currency"]):
            ctx.fail("ar_invoice_per_invoice", f"AR invoice {ar['id']} is {ar.get('total_minor')} "
                     f"{ar.get('currency')}, invoice {inv['id']} {inv['total_minor']} "
                     f"{inv['currency']}", [inv["id"], ar["id"]], _corr(inv, ar))  # fmt: skip
        ctx.latency("invoice -> AR invoice", ctx.slos.invoice_to_ar_invoice_s, finalized,
                    ctx.when(ar, ("ar_invoice.posted",), "created_at"), [inv["id"], ar["id"]],
                    _corr(inv, ar))  # fmt: skip


def check_payments(ctx: Ctx) -> None:
    ars = ctx.snap.by_id("ar_invoice")
    for pay in ctx.snap.of("payment"):
        if pay.get("status") != "succeeded":
            continue
        ctx.checked("receipt_per_payment")
        corr = _corr(pay)
        found = ctx.snap.by_external_id("receipt").get(pay["id"], [])
        paid = ctx.when(pay, ("payment.succeeded",), "created_at")
        if not found:
            if not ctx.pending("receipt_per_payment", paid, ctx.slos.payment_to_receipt_s):
                ctx.fail("receipt_per_payment", f"payment {pay['id']} has no ERP receipt",
                         [pay["id"]], corr)  # fmt: skip
            continue
        ids = [r["id"] for r in found]
        if len(found) > 1:
            ctx.fail("receipt_per_payment", f"payment {pay['id']} has {len(found)} receipts: "
                     f"{', '.join(ids)}", [pay["id"], *ids], corr)  # fmt: skip
            continue
        rc = found[0]
        problems = []
        if (rc.get("amount_minor"), rc.get("currency")) != (pay["amount_minor"], pay["currency"]):
            problems.append(
                f"receipt {rc['id']} is {rc.get('amount_minor')} {rc.get('currency')}"
                f", payment {pay['id']} {pay['amount_minor']} {pay['currency']}"
            )
        applied = [ars.get(a.get("ar_invoice_id", ""), {}).get("external_id")
                   for a in rc.get("applications") or []]  # fmt: skip
        if pay.get("invoice_id") not in applied:
            problems.append(f"receipt {rc['id']} is not applied to the AR invoice of invoice "
                            f"{pay.get('invoice_id')}")  # fmt: skip
        if problems:
            ctx.fail("receipt_per_payment", "; ".join(problems), [pay["id"], rc["id"]],
                     _corr(pay, rc))  # fmt: skip
        ctx.latency("payment -> receipt", ctx.slos.payment_to_receipt_s, paid,
                    ctx.when(rc, ("receipt.applied",), "created_at"), [pay["id"], rc["id"]],
                    _corr(pay, rc))  # fmt: skip


def check_ledger(ctx: Ctx) -> None:
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    broken = False
    for je in ctx.snap.of("journal_entry"):
        ctx.checked("ledger_balanced")
        debit = sum(int(x.get("debit_minor") or 0) for x in je.get("lines") or [])
        credit = sum(int(x.get("credit_minor") or 0) for x in je.get("lines") or [])
        key = (str(je.get("legal_entity")), str(je.get("currency")))
        totals[key][0] += debit
        totals[key][1] += credit
        if debit != credit:
            broken = True
            ctx.fail("ledger_balanced", f"journal entry {je['id']} debits {debit}, credits "
                     f"{credit} ({je.get('currency')})", [je["id"], je.get("source_id") or ""],
                     _corr(je, _source(ctx, je)))  # fmt: skip
    if broken:  # the overall sums differ by exactly what the entries above do
        return
    for (entity, cur), (debit, credit) in sorted(totals.items()):
        if debit != credit:
            ctx.fail("ledger_balanced", f"the ledger of {entity} in {cur} debits {debit}, "
                     f"credits {credit}", [], None)  # fmt: skip


def _source(ctx: Ctx, je: Obj) -> Obj | None:
    kind, source = je.get("source_type"), je.get("source_id")
    if kind in ("ar_invoice", "receipt") and source:
        return ctx.snap.by_id(str(kind)).get(str(source))
    return None


def check_periods(ctx: Ctx) -> None:
    periods = {p.get("name"): p for p in ctx.snap.of("accounting_period")}
    postings = (("journal_entry", "posting_date"), ("ar_invoice", "posting_date"),
                ("receipt", "received_date"))  # fmt: skip
    for object_type, date_field in postings:
        for obj in ctx.snap.of(object_type):
            day = str(obj.get(date_field) or "")
            ctx.checked("closed_period")
            period = periods.get(day[:7])
            if period is None or period.get("status") != "closed":
                continue
            closed = parse_time(period.get("closed_at"))
            made = parse_time(obj.get("created_at"))
            if closed is not None and made is not None and closed <= made:
                ctx.fail("closed_period", f"{object_type} {obj['id']} was posted on "
                         f"{obj.get('created_at')} dated {day}, into period {period.get('name')} "
                         f"closed on {period.get('closed_at')}", [obj["id"], period["id"]],
                         _corr(obj))  # fmt: skip
