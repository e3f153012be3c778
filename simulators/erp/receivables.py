"""The receivables side of the ERP: AR invoices, receipts, and what paying them settles.

Posting an invoice or a receipt writes its journal entry through the ledger first,
so a refused posting (closed period, unbalanced) leaves nothing half-written.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lifecycle.money import apply_bps
from lifecycle.states import MACHINES, SalesOrderStatus, StateMachine
from simulators.erp.errors import currency_mismatch, customer_mismatch, unknown
from simulators.erp.ledger import (
    AR_ACCOUNT,
    CASH_ACCOUNT,
    REVENUE_ACCOUNT,
    TAX_ACCOUNT,
    UNAPPLIED_ACCOUNT,
    LedgerState,
    check_legal_entity,
)
from simulators.kit.errors import Conflict, Invalid
from simulators.kit.state import Obj, check_move

__all__ = ["AR_INVOICE", "SALES_ORDER", "ReceivablesState"]

SALES_ORDER: StateMachine = MACHINES["sales_order"]
AR_INVOICE: StateMachine = MACHINES["ar_invoice"]


class ReceivablesState(LedgerState):
    """Customers' receivables: invoices post Dr AR, receipts post Cr AR, paid orders close."""

    @property
    def unique_external_id(self) -> bool:
        """SimConfig option ``enforce_unique_external_id`` (default on)."""
        return bool(self.options.get("enforce_unique_external_id", True))

    def _check_external_id(self, object_type: str, external_id: str | None) -> None:
        """409 ``duplicate_external_id`` before any other rule, so a retry learns it first."""
        if external_id is None or not self.unique_external_id:
            return
        holder = self.col(object_type).first_by("external_id", external_id)
        if holder is not None:
            noun = self.col(object_type).spec.noun
            raise Conflict(
                "duplicate_external_id",
                f"a {noun} with external_id {external_id!r} already exists ({holder['id']})",
                [{"field": "external_id", "message": "already used", "existing_id": holder["id"]}],
            )

    def require_customer(self, customer_id: str) -> Obj:
        customer = self.col("erp_customer").find(customer_id)
        if customer is None:
            raise unknown("customer", customer_id, "customer_id")
        return customer

    @staticmethod
    def tax_for(customer: Obj, subtotal: int) -> int:
        """VAT/GST at the customer's legal-entity rate, unless the customer is exempt."""
        if customer["tax_exempt"]:
            return 0
        entity = check_legal_entity(customer["legal_entity"])
        return apply_bps(subtotal, entity.tax_bps)

    # -- orders settled by their invoices ------------------------------------------------

    def _order_invoiced(self, order: Obj) -> None:
        if SALES_ORDER.can(order["status"], SalesOrderStatus.INVOICED.value):
            order = self.move("sales_order", order, SALES_ORDER, SalesOrderStatus.INVOICED.value)
            self.emit("order.invoiced", order)

    def _maybe_close_order(self, order_id: str | None) -> None:
        """An invoiced order closes once every invoice raised for it is paid (or void)."""
        order = self.col("sales_order").find(order_id)
        if order is None or order["status"] != SalesOrderStatus.INVOICED.value:
            return
        invoices = self.col("ar_invoice").by("sales_order_id", order["id"])
        settled = all(inv["status"] != "open" for inv in invoices)
        if settled and any(inv["status"] == "paid" for inv in invoices):
            order = self.move("sales_order", order, SALES_ORDER, SalesOrderStatus.CLOSED.value)
            self.emit("order.closed", order)

    # -- AR invoices -------------------------------------------------------------------------

    def create_invoice(self, fields: dict[str, Any]) -> Obj:
        """An AR invoice raised directly (e.g. mirroring a billing-system invoice)."""
        self._check_external_id("ar_invoice", fields.get("external_id"))
        customer = self.require_customer(fields["customer_id"])
        currency = fields.get("currency") or customer["currency"]
        if currency != customer["currency"]:
            raise currency_mismatch(customer, currency)
        order_id = fields.get("sales_order_id")
        if order_id is not None:
            order = self.col("sales_order").find(order_id)
            if order is None:
                raise unknown("sales_order", order_id, "sales_order_id")
            if order["customer_id"] != customer["id"]:
                raise customer_mismatch("sales_order_id", order_id, customer["id"])
            if order["status"] == SalesOrderStatus.CANCELLED.value:
                raise Conflict(
                    "order_cancelled",
                    f"{order_id} is cancelled and cannot be invoiced",
                    [{"field": "sales_order_id", "message": "order is cancelled"}],
                )
        if fields.get("tax_minor") is None:
            fields["tax_minor"] = self.tax_for(customer, fields["subtotal_minor"])
        return self._post_invoice(
            customer,
            {**fields, "currency": currency,
             "posting_date": fields.get("posting_date") or self.today()},
            {REVENUE_ACCOUNT: fields["subtotal_minor"]},
        )  # fmt: skip

    def _post_invoice(self, customer: Obj, fields: Obj, revenue: dict[str, int]) -> Obj:
        """Store an invoice and its journal entry: Dr AR total / Cr revenue / Cr tax payable."""
        self._check_external_id("ar_invoice", fields.get("external_id"))
        period = self.require_open(fields["posting_date"])
        total = fields["subtotal_minor"] + fields["tax_minor"]
        invoice_id = self.rt.ids.new("ar_invoice")
        lines = [
            {"account": AR_ACCOUNT, "debit_minor": total, "credit_minor": 0},
            *({"account": a, "debit_minor": 0, "credit_minor": v} for a, v in revenue.items()),
            {"account": TAX_ACCOUNT, "debit_minor": 0, "credit_minor": fields["tax_minor"]},
        ]
        entry = self.post(
            legal_entity=customer["legal_entity"], posting_date=fields["posting_date"],
            currency=fields["currency"], lines=lines, memo=fields.get("memo"),
            source_type="ar_invoice", source_id=invoice_id,
        )  # fmt: skip
        invoice = self.new(
            "ar_invoice",
            {**fields, "id": invoice_id, "customer_id": customer["id"], "status": "open",
             "period": period, "total_minor": total, "amount_due_minor": total,
             "journal_entry_id": entry["id"] if entry else None},
        )  # fmt: skip
        self.emit("ar_invoice.posted", invoice)
        order = self.col("sales_order").find(fields.get("sales_order_id"))
        if order is not None:
            self._order_invoiced(order)
        if total == 0:
            invoice = self._mark_paid(invoice)
        return invoice

    def _mark_paid(self, invoice: Obj) -> Obj:
        invoice = self.move("ar_invoice", invoice, AR_INVOICE, "paid")
        self.emit("ar_invoice.paid", invoice)
        self._maybe_close_order(invoice["sales_order_id"])
        return invoice

    def void_invoice(self, invoice_id: str) -> Obj:
        """Void an unpaid invoice with a reversing entry, in its own period if still open."""
        invoice = self.col("ar_invoice").get(invoice_id)
        check_move(invoice, AR_INVOICE, "void")
        if invoice["amount_due_minor"] != invoice["total_minor"]:
            # NetSuite refuses to void an invoice with payments applied: unapply them first.
            raise Conflict(
                "invoice_has_payments",
                f"{invoice_id} has payments applied and cannot be voided",
                [{"field": "amount_due_minor", "message": "payments are applied"}],
            )
        own = self.find_period(invoice["period"])
        reversal_date = invoice["posting_date"]
        if own is not None and own["status"] == "closed":
            reversal_date = self.today()
        entry = self.col("journal_entry").find(invoice["journal_entry_id"])
        if entry is not None:
            self.reverse(entry, reversal_date, f"Void of AR invoice {invoice_id}")
        else:
            self.require_open(reversal_date)
        invoice = self.move("ar_invoice", invoice, AR_INVOICE, "void", {"amount_due_minor": 0})
        self.emit("ar_invoice.voided", invoice)
        self._maybe_close_order(invoice["sales_order_id"])
        return invoice

    # -- receipts ----------------------------------------------------------------------------

    def create_receipt(self, fields: dict[str, Any]) -> Obj:
        """Cash received and applied to open invoices: Dr cash / Cr AR (and unapplied cash)."""
        self._check_external_id("receipt", fields.get("external_id"))
        customer = self.require_customer(fields["customer_id"])
        currency = fields.get("currency") or customer["currency"]
        if currency != customer["currency"]:
            raise currency_mismatch(customer, currency)
        received = fields.get("received_date") or self.today()
        applications = fields["applications"]
        applied = sum(a["amount_minor"] for a in applications)
        if applied > fields["amount_minor"]:
            raise Invalid(
                "over_application",
                f"applications total {applied}, more than the receipt's {fields['amount_minor']}",
                [{"field": "applications", "message": "may not exceed amount_minor"}],
            )
        per_invoice: dict[str, int] = defaultdict(int)
        for index, app in enumerate(applications):
            field = f"applications.{index}.ar_invoice_id"
            invoice = self.col("ar_invoice").find(app["ar_invoice_id"])
            if invoice is None:
                raise unknown("ar_invoice", app["ar_invoice_id"], field, code="unknown_invoice")
            if invoice["customer_id"] != customer["id"]:
                raise customer_mismatch(field, invoice["id"], customer["id"])
            if invoice["currency"] != currency:
                raise currency_mismatch(customer, invoice["currency"], field)
            per_invoice[invoice["id"]] += app["amount_minor"]
            if per_invoice[invoice["id"]] > invoice["amount_due_minor"]:
                raise Invalid(
                    "exceeds_amount_due",
                    f"{invoice['id']} has {invoice['amount_due_minor']} due; "
                    f"{per_invoice[invoice['id']]} applied",
                    [{"field": f"applications.{index}.amount_minor",
                      "message": f"at most {invoice['amount_due_minor']}"}],
                )  # fmt: skip
        period = self.require_open(received, "received_date")
        receipt_id = self.rt.ids.new("receipt")
        entry = self.post(
            legal_entity=customer["legal_entity"], posting_date=received, currency=currency,
            lines=[
                {"account": CASH_ACCOUNT, "debit_minor": fields["amount_minor"], "credit_minor": 0},
                {"account": AR_ACCOUNT, "debit_minor": 0, "credit_minor": applied},
                {"account": UNAPPLIED_ACCOUNT, "debit_minor": 0,
                 "credit_minor": fields["amount_minor"] - applied},
            ],
            memo=f"Customer payment {receipt_id}", source_type="receipt", source_id=receipt_id,
        )  # fmt: skip
        receipt = self.new(
            "receipt",
            {**fields, "id": receipt_id, "currency": currency, "received_date": received,
             "period": period, "journal_entry_id": entry["id"] if entry else None},
        )  # fmt: skip
        self.emit("receipt.applied", receipt)
        for invoice_id, amount in per_invoice.items():
            invoice = self.col("ar_invoice").get(invoice_id)
            invoice = self.update(
                "ar_invoice", invoice, {"amount_due_minor": invoice["amount_due_minor"] - amount}
            )
            if invoice["amount_due_minor"] == 0:
                self._mark_paid(invoice)
        return receipt
