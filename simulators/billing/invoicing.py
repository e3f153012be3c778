"""Invoices, payments, dunning and credit notes: the money half of the billing state.

Invoices move only along ``lifecycle.states.INVOICE``; a failed payment moves the
subscription along ``SUBSCRIPTION`` (past_due, then unpaid or canceled) by the
dunning schedule in ``rules.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from lifecycle.money import apply_bps
from lifecycle.states import MACHINES
from simulators.billing.rules import DUNNING_FINAL_ACTIONS, DUNNING_RETRY_DAYS, resolve_card
from simulators.kit.bodies import check_money_total
from simulators.kit.clock import format_instant
from simulators.kit.errors import Conflict, Invalid
from simulators.kit.state import Obj, SystemState, check_move

__all__ = ["INVOICE", "INVOICE_NUMBERS", "SUBSCRIPTION", "InvoicingState", "aware"]

SUBSCRIPTION = MACHINES["subscription"]
INVOICE = MACHINES["invoice"]

# The event each subscription status is announced by when billing moves it there.
_SUBSCRIPTION_EVENTS = {
    "active": "subscription.activated",
    "past_due": "subscription.past_due",
    "unpaid": "subscription.unpaid",
    "canceled": "subscription.canceled",
}
# The store counter INV- numbers come from (it commits and rolls back with the invoice).
INVOICE_NUMBERS = "invoice_number"
# Stripe issues credit notes on open and paid invoices only.
_CREDITABLE = ("open", "paid")


def aware(moment: datetime | None, clock_now: datetime) -> datetime:
    """``moment`` (naive taken as UTC), or the clock's now when None."""
    if moment is None:
        return clock_now
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class InvoicingState(SystemState):
    """Invoice runs, the invoice machine, test-card payments, dunning and credit notes."""

    # -- options -------------------------------------------------------------------------

    def _retry_days(self) -> tuple[int, ...]:
        return tuple(self.options.get("dunning_retry_days", DUNNING_RETRY_DAYS))

    def _final_action(self) -> str:
        action = str(self.options.get("dunning_final_action", "unpaid"))
        if action not in DUNNING_FINAL_ACTIONS:
            raise ValueError(f"dunning_final_action must be one of {DUNNING_FINAL_ACTIONS}")
        return action

    # -- subscriptions, as billing moves them ----------------------------------------------

    def move_subscription(self, sub: Obj | None, target: str, at: str | None = None) -> Obj | None:
        """Move a subscription if its machine allows it (a no-op otherwise), with the event."""
        if sub is None or sub["status"] == target or not SUBSCRIPTION.can(sub["status"], target):
            return sub
        changes: Obj = {}
        if target == "canceled":
            changes = {"canceled_at": at or self.now(), "cancel_at_period_end": False}
        moved = self.move("subscription", sub, SUBSCRIPTION, target, changes)
        self.emit(_SUBSCRIPTION_EVENTS[target], moved)
        return moved

    def _subscription_of(self, invoice: Obj) -> Obj | None:
        return self.col("subscription").find(invoice.get("subscription_id"))

    def _restore_subscription(self, invoice: Obj) -> None:
        """A paid invoice brings a past_due or unpaid subscription back to active, as at
        Stripe, unless another of its invoices is still failing."""
        sub = self._subscription_of(invoice)
        if sub is None or sub["status"] not in ("past_due", "unpaid"):
            return
        failing = any(
            other["id"] != invoice["id"] and other["status"] == "open" and other["attempt_count"]
            for other in self.col("invoice").by("subscription_id", sub["id"])
        )
        if not failing:
            self.move_subscription(sub, "active")

    # -- invoice runs ----------------------------------------------------------------------

    def _next_number(self) -> str:
        return f"INV-{self.store.next_number(INVOICE_NUMBERS):06d}"

    def invoice_for_period(self, sub: Obj, period_start: str) -> Obj | None:
        """The invoice (not void) of ``sub`` for the period starting ``period_start``."""
        for invoice in self.col("invoice").by("subscription_id", sub["id"]):
            if invoice["period_start"] == period_start and invoice["status"] != "void":
                return invoice
        return None

    def _usage_in(self, item_id: str, start: str, end: str) -> int:
        # Usage belongs to the period its timestamp's UTC date falls in: [start, end).
        # Every usage record posted asks for its period's total so far: the store keeps
        # the sum and adds only the records inserted since (O(1) per post, not O(posts)).
        def in_period(u: Obj) -> int:
            return u["quantity"] if start <= u["timestamp"][:10] < end else 0

        return self.col("usage_record").sum_by(
            "subscription_item_id", item_id, in_period, ("usage_in", start, end)
        )

    def build_invoice(
        self, sub: Obj, tax_rate_bps: int | None = None, external_id: str | None = None
    ) -> Obj:
        """A draft invoice for the subscription's current period, from its items and usage."""
        start, end = sub["current_period_start"], sub["current_period_end"]
        existing = self.invoice_for_period(sub, start)
        if existing is not None:
            # One invoice per subscription and period (Zuora's bill run never bills a
            # period twice); voiding the invoice lets the period be invoiced again.
            raise Conflict(
                "invoice_exists_for_period",
                f"{sub['id']} already has {existing['id']} ({existing['number']}) "
                f"for the period {start} to {end}",
                [
                    {
                        "field": "subscription_id",
                        "message": "period already invoiced",
                        "existing_id": existing["id"],
                    }
                ],
            )
        lines: list[Obj] = []
        for item in sub["items"]:
            if item["usage_based"]:
                quantity, kind = self._usage_in(item["id"], start, end), "usage"
                text = f"{item['sku']}: {quantity} unit(s) used {start} to {end}"
            else:
                quantity, kind = item["quantity"], "recurring"
                text = f"{item['sku']} x {quantity}, {start} to {end}"
            lines.append(
                {
                    "kind": kind,
                    "sku": item["sku"],
                    "description": text,
                    "quantity": quantity,
                    "unit_amount_minor": item["unit_amount_minor"],
                    "amount_minor": quantity * item["unit_amount_minor"],
                }
            )
        subtotal = sum(line["amount_minor"] for line in lines)
        bps = int(self.options.get("tax_rate_bps", 0)) if tax_rate_bps is None else tax_rate_bps
        tax = apply_bps(subtotal, bps)
        # Usage is bounded as it is recorded, but tax can still carry the total past
        # the money bound: refuse the run, creating nothing.
        check_money_total(subtotal + tax, "tax_rate_bps" if bps else "lines")
        invoice = self.new(
            "invoice",
            {
                "external_id": external_id,
                "customer_id": sub["customer_id"],
                "subscription_id": sub["id"],
                "number": self._next_number(),
                "status": "draft",
                "currency": sub["currency"],
                "period_start": start,
                "period_end": end,
                "lines": lines,
                "subtotal_minor": subtotal,
                "tax_minor": tax,
                "total_minor": subtotal + tax,
                "amount_paid_minor": 0,
                "amount_credited_minor": 0,
                "amount_remaining_minor": subtotal + tax,
                "due_date": None,
                "attempt_count": 0,
                "next_payment_attempt": None,
                "finalized_at": None,
                "paid_at": None,
            },
        )
        self.emit("invoice.created", invoice)
        return invoice

    # -- the invoice machine ---------------------------------------------------------------

    def finalize_invoice(self, invoice_id: str) -> Obj:
        """draft → open (finalized, posted); a zero-total invoice is then paid at once."""
        invoice = self.col("invoice").get(invoice_id)
        due = date.fromisoformat(self.today()) + timedelta(
            days=int(self.options.get("days_until_due", 0))
        )
        invoice = self.move(
            "invoice",
            invoice,
            INVOICE,
            "open",
            {"finalized_at": self.now(), "due_date": due.isoformat()},
        )
        self.emit("invoice.finalized", invoice)
        self.emit("invoice.posted", invoice)
        if invoice["amount_remaining_minor"] == 0:
            # Stripe marks a finalized invoice with nothing to collect as paid.
            invoice = self._mark_paid(invoice, 0)
        return invoice

    def void_invoice(self, invoice_id: str) -> Obj:
        invoice = self.move(
            "invoice",
            self.col("invoice").get(invoice_id),
            INVOICE,
            "void",
            {"next_payment_attempt": None, "amount_remaining_minor": 0},
        )
        self.emit("invoice.voided", invoice)
        return invoice

    def mark_uncollectible(self, invoice_id: str) -> Obj:
        invoice = self.move(
            "invoice",
            self.col("invoice").get(invoice_id),
            INVOICE,
            "uncollectible",
            {"next_payment_attempt": None},
        )
        self.emit("invoice.marked_uncollectible", invoice)
        return invoice

    def _mark_paid(self, invoice: Obj, amount: int) -> Obj:
        invoice = self.move(
            "invoice",
            invoice,
            INVOICE,
            "paid",
            {
                "amount_paid_minor": invoice["amount_paid_minor"] + amount,
                "amount_remaining_minor": 0,
                "paid_at": self.now(),
                "next_payment_attempt": None,
            },
        )
        self.emit("invoice.paid", invoice)
        self._restore_subscription(invoice)
        return invoice

    # -- payments and dunning --------------------------------------------------------------

    def pay_invoice(
        self, invoice_id: str, payment_method: str | None = None, at: datetime | None = None
    ) -> tuple[Obj, Obj]:
        """Charge the invoice's amount remaining to a test card: the invoice and the Payment.

        A declined card is not an exception here: the failed Payment is stored, the
        dunning schedule advances, and the caller decides how to answer.
        """
        invoice = self.col("invoice").get(invoice_id)
        check_move(invoice, INVOICE, "paid")
        customer = self.col("billing_customer").find(invoice["customer_id"])
        method = payment_method or (customer or {}).get("payment_method")
        if method is None:
            raise Invalid(
                "no_payment_method",
                f"customer {invoice['customer_id']} has no default payment method; "
                "send payment_method or set one on the customer",
                [{"field": "payment_method", "message": "required"}],
            )
        return self._attempt(invoice, method, at or self.clock.now())

    def _attempt(self, invoice: Obj, method: str, at: datetime) -> tuple[Obj, Obj]:
        card = resolve_card(method)
        if card is None:
            raise Invalid(
                "unknown_test_card",
                f"{method!r} is not a test card; test mode takes Stripe's test card numbers",
                [{"field": "payment_method", "message": "use e.g. 4242424242424242"}],
            )
        amount = invoice["amount_remaining_minor"]
        payment = self.new(
            "payment",
            {
                "invoice_id": invoice["id"],
                "customer_id": invoice["customer_id"],
                "amount_minor": amount,
                "currency": invoice["currency"],
                "status": "failed" if card.charge_error else "succeeded",
                "payment_method": method,
                "failure_code": card.charge_error,
            },
        )
        if card.charge_error is None:
            self.emit("payment.succeeded", payment)
            return self._mark_paid(invoice, amount), payment
        self.emit("payment.failed", payment)
        return self._record_failure(invoice, at), payment

    def _record_failure(self, invoice: Obj, at: datetime) -> Obj:
        """Count a failed attempt and follow the dunning schedule (Stripe's smart retries)."""
        attempts = invoice["attempt_count"] + 1
        if invoice["status"] != "open":  # an uncollectible invoice: nothing more to decide
            return self.update("invoice", invoice, {"attempt_count": attempts})
        retry_days = self._retry_days()
        sub = self._subscription_of(invoice)
        if attempts <= len(retry_days):
            retry_at = format_instant(at + timedelta(days=retry_days[attempts - 1]))
            invoice = self.update(
                "invoice", invoice, {"attempt_count": attempts, "next_payment_attempt": retry_at}
            )
            self.move_subscription(sub, "past_due")
            return invoice
        # The last retry failed: write the invoice off and apply the final action.
        invoice = self.move(
            "invoice",
            invoice,
            INVOICE,
            "uncollectible",
            {"attempt_count": attempts, "next_payment_attempt": None},
        )
        self.emit("invoice.marked_uncollectible", invoice)
        sub = self.move_subscription(sub, "past_due")
        self.move_subscription(sub, self._final_action(), format_instant(at))
        return invoice

    # -- credit notes ----------------------------------------------------------------------

    def create_credit_note(self, invoice_id: str, fields: dict[str, Any]) -> Obj:
        invoice = self.col("invoice").get(invoice_id)
        if invoice["status"] not in _CREDITABLE:
            raise Conflict(
                "invoice_not_creditable",
                f"{invoice_id} is {invoice['status']}; credit notes need an open or paid invoice",
                [{"field": "status", "message": f"one of {list(_CREDITABLE)}"}],
            )
        available = invoice["total_minor"] - invoice["amount_credited_minor"]
        if fields["amount_minor"] > available:
            raise Invalid(
                "credit_exceeds_invoice",
                f"{invoice_id} can be credited {available} more, not {fields['amount_minor']}",
                [{"field": "amount_minor", "message": f"at most {available}"}],
            )
        note = self.new(
            "credit_note", {**fields, "invoice_id": invoice_id, "currency": invoice["currency"]}
        )
        self.emit("credit_note.created", note)
        credited = invoice["amount_credited_minor"] + fields["amount_minor"]
        if invoice["status"] == "paid":  # a credit to the customer, outside this invoice
            self.update("invoice", invoice, {"amount_credited_minor": credited})
            return note
        remaining = max(0, invoice["amount_remaining_minor"] - fields["amount_minor"])
        invoice = self.update(
            "invoice",
            invoice,
            {"amount_credited_minor": credited, "amount_remaining_minor": remaining},
        )
        if remaining == 0:
            # Stripe marks an open invoice that credit notes cover in full as paid.
            self._mark_paid(invoice, 0)
        return note
