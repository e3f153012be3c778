"""ERP objects and rules: customers, items, sales orders, and the Pact provider states.

Orders carry credit and tax checks; invoicing hands over to ``receivables.py``, whose
postings go through the ledger (``ledger.py``), which refuses closed periods.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

from lifecycle.entities._base import CurrencyCode
from lifecycle.states import SalesOrderStatus
from simulators.erp.closing import ClosingState
from simulators.erp.errors import credit_limit_exceeded, currency_mismatch, unknown
from simulators.erp.ledger import (
    REVENUE_ACCOUNT,
    check_account,
    check_legal_entity,
    check_period_name,
    period_of,
)
from simulators.erp.models import LegalEntityCode, PeriodName
from simulators.erp.receivables import SALES_ORDER
from simulators.kit.bodies import ExternalId, Money, Sku, check_currency, check_money_total
from simulators.kit.errors import Conflict, Invalid, NotFound
from simulators.kit.params import Id
from simulators.kit.state import Obj, Versions, check_move, provider_state
from simulators.kit.store import CollectionSpec

__all__ = ["ErpState"]

# Orders whose value counts against the customer's credit until they are invoiced (then
# the exposure is the open AR): NetSuite's "include open orders" credit-limit setting.
_EXPOSED_ORDER_STATUSES = frozenset({"pending_approval", "booked", "fulfilled"})
# Action endpoint -> (target status, event type).
ORDER_ACTIONS: dict[str, tuple[str, str]] = {
    "approve": (SalesOrderStatus.BOOKED.value, "order.booked"),
    "fulfill": (SalesOrderStatus.FULFILLED.value, "order.fulfilled"),
    "close": (SalesOrderStatus.CLOSED.value, "order.closed"),
    "cancel": (SalesOrderStatus.CANCELLED.value, "order.cancelled"),
}
# Object types whose external_id must be unique (docs/api.md: the ERP refuses a second
# object with the same external_id), unless a scenario switches the check off.
_UNIQUE_EXTERNAL_ID = ("erp_customer", "item", "sales_order", "ar_invoice", "receipt",
                       "journal_entry")  # fmt: skip


class ErpState(ClosingState):
    SYSTEM = "erp"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (
        CollectionSpec("erp_customer", unique=("external_id",), label="customer",
                       indexed=("external_id", "crm_account_id")),
        CollectionSpec("item", indexed=("external_id", "sku"), unique=("sku",)),
        CollectionSpec("sales_order", unique=("external_id",), label="sales order",
                       indexed=("external_id", "customer_id"),
                       references={"customer_id": "erp_customer", "lines.item_id": "item"}),
        CollectionSpec("ar_invoice", unique=("external_id",), label="AR invoice",
                       indexed=("external_id", "customer_id", "sales_order_id"),
                       references={"customer_id": "erp_customer", "sales_order_id": "sales_order"}),
        CollectionSpec("receipt", unique=("external_id",), indexed=("external_id", "customer_id"),
                       references={"customer_id": "erp_customer",
                                   "applications.ar_invoice_id": "ar_invoice"}),
        CollectionSpec("journal_entry", unique=("external_id",), label="journal entry",
                       indexed=("external_id", "source_id", "period")),
        CollectionSpec("accounting_period", indexed=("name",), unique=("name",),
                       label="accounting period"),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for object_type in _UNIQUE_EXTERNAL_ID:
            if object_type != "item":  # items keep sku unique; _check_external_id covers them
                self.col(object_type).enforce_unique = self.unique_external_id

    # -- customers ---------------------------------------------------------------------------

    def create_customer(self, fields: dict[str, Any]) -> Obj:
        self._check_external_id("erp_customer", fields.get("external_id"))
        entity = check_legal_entity(fields["legal_entity"])
        if fields.get("currency") is None:
            fields["currency"] = entity.currency
        check_currency(fields["currency"])
        customer = self.new("erp_customer", fields)
        self.emit("customer.created", customer)
        return customer

    def update_customer(
        self, customer_id: str, changes: dict[str, Any], version: Versions | None
    ) -> Obj:
        customer = self.col("erp_customer").get(customer_id)
        customer = self.update("erp_customer", customer, changes, version)
        self.emit("customer.updated", customer)
        return customer

    def credit_exposure(self, customer_id: str, excluding_order: str | None = None) -> int:
        """Open AR plus the open orders' totals of a customer, in its currency."""
        open_ar: int = sum(
            inv["amount_due_minor"]
            for inv in self.col("ar_invoice").by("customer_id", customer_id)
            if inv["status"] == "open"
        )
        open_orders: int = sum(
            so["total_minor"]
            for so in self.col("sales_order").by("customer_id", customer_id)
            if so["status"] in _EXPOSED_ORDER_STATUSES and so["id"] != excluding_order
        )
        return open_ar + open_orders

    def _check_credit(self, customer: Obj, total: int, order_id: str | None = None) -> None:
        exposure = self.credit_exposure(customer["id"], order_id)
        if exposure + total > customer["credit_limit_minor"]:
            raise credit_limit_exceeded(customer, exposure, total)

    # -- items -------------------------------------------------------------------------------

    def create_item(self, fields: dict[str, Any]) -> Obj:
        self._check_external_id("item", fields.get("external_id"))
        check_account(fields["revenue_account"], "revenue_account", ("revenue",))
        item = self.new("item", fields)
        self.emit("item.created", item)
        return item

    def update_item(self, item_id: str, changes: dict[str, Any], version: Versions | None) -> Obj:
        if changes.get("revenue_account") is not None:
            check_account(changes["revenue_account"], "revenue_account", ("revenue",))
        item = self.update("item", self.col("item").get(item_id), changes, version)
        self.emit("item.updated", item)
        return item

    def item_by_sku(self, sku: str) -> Obj:
        item = self.col("item").first_by("sku", sku)
        if item is None:
            raise NotFound("not_found", f"no item with sku {sku!r}")
        return item

    def _resolve_line(self, index: int, line: Obj) -> Obj:
        items = self.col("item")
        by_id = items.find(line.get("item_id"))
        by_sku = items.first_by("sku", line["sku"]) if line.get("sku") else None
        if line.get("item_id") and by_id is None:
            raise unknown("item", line["item_id"], f"lines.{index}.item_id")
        if line.get("sku") and by_sku is None:
            raise unknown("item", line["sku"], f"lines.{index}.sku", by="sku")
        if by_id is not None and by_sku is not None and by_id["id"] != by_sku["id"]:
            raise Invalid(
                "item_mismatch",
                f"line {index}: item {by_id['id']} does not have sku {line['sku']!r}",
                [{"field": f"lines.{index}.sku", "message": f"item has sku {by_id['sku']!r}"}],
            )
        item = by_id or by_sku
        assert item is not None
        return {
            "line_no": index + 1, "item_id": item["id"], "sku": item["sku"],
            "quantity": line["quantity"], "unit_price_minor": line["unit_price_minor"],
            "amount_minor": line["quantity"] * line["unit_price_minor"],
        }  # fmt: skip

    # -- sales orders ------------------------------------------------------------------------

    def create_order(self, fields: dict[str, Any]) -> Obj:
        self._check_external_id("sales_order", fields.get("external_id"))
        customer = self.require_customer(fields["customer_id"])
        currency = fields.get("currency") or customer["currency"]
        if currency != customer["currency"]:
            raise currency_mismatch(customer, currency)
        lines = [self._resolve_line(i, line) for i, line in enumerate(fields["lines"])]
        subtotal = sum(line["amount_minor"] for line in lines)
        tax = self.tax_for(customer, subtotal)
        check_money_total(subtotal + tax, "lines")
        self._check_credit(customer, subtotal + tax)
        order = self.new(
            "sales_order",
            {**fields, "currency": currency, "order_date": fields.get("order_date") or self.today(),
             "status": SalesOrderStatus.PENDING_APPROVAL.value, "lines": lines,
             "subtotal_minor": subtotal, "tax_minor": tax, "total_minor": subtotal + tax},
        )  # fmt: skip
        self.emit("order.created", order)
        return order

    def update_order(self, order_id: str, changes: dict[str, Any], version: Versions | None) -> Obj:
        order = self.col("sales_order").get(order_id)
        if SALES_ORDER.moves[order["status"]] == frozenset():
            raise Conflict(
                "order_locked",
                f"{order_id} is {order['status']} and can no longer be edited",
                [{"field": "status", "message": "closed and cancelled orders are read-only"}],
            )
        order = self.update("sales_order", order, changes, version)
        self.emit("order.updated", order)
        return order

    def act_on_order(self, order_id: str, action: str) -> Obj:
        """approve / fulfill / close / cancel: one move of the SALES_ORDER machine."""
        target, event = ORDER_ACTIONS[action]
        order = self.col("sales_order").get(order_id)
        check_move(order, SALES_ORDER, target)
        if target == SalesOrderStatus.BOOKED.value:
            # Approval re-checks credit: AR and other orders may have grown since entry.
            self._check_credit(self.require_customer(order["customer_id"]),
                               order["total_minor"], order_id)  # fmt: skip
        order = self.move("sales_order", order, SALES_ORDER, target)
        self.emit(event, order)
        return order

    def invoice_order(self, order_id: str, fields: dict[str, Any]) -> Obj:
        """Bill a fulfilled order: an AR invoice dated today, posted, and the order invoiced."""
        order = self.col("sales_order").get(order_id)
        check_move(order, SALES_ORDER, SalesOrderStatus.INVOICED.value)
        customer = self.require_customer(order["customer_id"])
        revenue: dict[str, int] = defaultdict(int)
        for line in order["lines"]:
            item = self.col("item").find(line["item_id"])
            revenue[item["revenue_account"] if item else REVENUE_ACCOUNT] += line["amount_minor"]
        invoice = self._post_invoice(
            customer,
            {"external_id": fields.get("external_id"), "sales_order_id": order_id,
             "currency": order["currency"], "posting_date": self.today(),
             "subtotal_minor": order["subtotal_minor"], "tax_minor": order["tax_minor"],
             "memo": fields.get("memo") or f"Invoice for sales order {order_id}"},
            revenue,
        )  # fmt: skip
        return invoice

    # -- Pact provider states ----------------------------------------------------------------

    @provider_state("a customer exists")
    def _state_customer(
        self, id: Id | None = None, credit_limit_minor: Money = 10_000_000,
        currency: CurrencyCode | None = None, legal_entity: LegalEntityCode = "US01",
    ) -> Obj:  # fmt: skip
        existing = self.col("erp_customer").find(id)
        if existing is None:
            customer = self.create_customer(
                {"name": "Acme Corp", "legal_entity": legal_entity, "currency": currency,
                 "credit_limit_minor": credit_limit_minor, "tax_exempt": False,
                 "crm_account_id": None, "external_id": None}
            )  # fmt: skip
            existing = customer if id is None else self.with_id("erp_customer", customer, id)
        return {"customer_id": existing["id"]}

    @provider_state("an item exists")
    def _state_item(self, sku: Sku = "PLAT-STD", id: Id | None = None) -> Obj:
        item = self.col("item").first_by("sku", sku)
        if item is None:
            item = self.create_item(
                {"sku": sku, "name": f"Item {sku}", "type": "subscription",
                 "revenue_account": REVENUE_ACCOUNT, "external_id": None}
            )  # fmt: skip
            if id is not None:
                item = self.with_id("item", item, id)
        return {"item_id": item["id"], "sku": item["sku"]}

    @provider_state("a booked sales order exists")
    def _state_booked_order(
        self, id: Id | None = None, customer_id: Id | None = None, sku: Sku = "PLAT-STD",
        total_minor: Money = 1_200_000,
    ) -> Obj:  # fmt: skip
        customer = self._state_customer(id=customer_id)
        item = self._state_item(sku=sku)
        existing = self.col("sales_order").find(id)
        if existing is not None:
            return {"sales_order_id": existing["id"], **customer, **item}
        order = self.create_order(
            {"customer_id": customer["customer_id"], "currency": None, "order_date": None,
             "lines": [{"sku": sku, "item_id": None, "quantity": 1,
                        "unit_price_minor": total_minor}],
             "quote_id": None, "opportunity_id": None, "external_id": None, "memo": None}
        )  # fmt: skip
        order = self.act_on_order(order["id"], "approve")
        if id is not None:
            order = self.with_id("sales_order", order, id)
        return {"sales_order_id": order["id"], **customer, **item}

    @provider_state("an open AR invoice exists")
    def _state_open_invoice(
        self, id: Id | None = None, customer_id: Id | None = None, total_minor: Money = 1_200_000
    ) -> Obj:
        return self._open_invoice(id, customer_id, total_minor, None)

    @provider_state("an ERP AR invoice {ar_invoice_id} for billing invoice {external_id} exists")
    def _state_mirrored_invoice(
        self, ar_invoice_id: Id | None = None, external_id: ExternalId = "in_pact",
        customer_id: Id | None = None, total_minor: Money = 1_200_000,
    ) -> Obj:  # fmt: skip
        """An open AR invoice mirroring a billing invoice (``external_id``), of the customer."""
        holder = self.col("ar_invoice").first_by("external_id", external_id)
        if holder is not None and ar_invoice_id in (None, holder["id"]):
            return {"ar_invoice_id": holder["id"], "customer_id": holder["customer_id"]}
        return self._open_invoice(ar_invoice_id, customer_id, total_minor, external_id)

    def _open_invoice(
        self, id: str | None, customer_id: str | None, total_minor: int, external_id: str | None
    ) -> Obj:
        customer = self._state_customer(id=customer_id)
        existing = self.col("ar_invoice").find(id)
        if existing is not None:
            return {"ar_invoice_id": existing["id"], **customer}
        invoice = self.create_invoice(
            {"customer_id": customer["customer_id"], "external_id": external_id, "currency": None,
             "posting_date": None, "subtotal_minor": total_minor, "tax_minor": 0,
             "memo": None, "sales_order_id": None}
        )  # fmt: skip
        if id is not None:
            invoice = self.with_id("ar_invoice", invoice, id)
            entry = self.col("journal_entry").find(invoice["journal_entry_id"])
            if entry is not None:
                self.col("journal_entry").replace({**entry, "source_id": invoice["id"]})
        return {"ar_invoice_id": invoice["id"], **customer}

    @provider_state("an ERP customer {customer_id} with external id {external_id} exists")
    def _state_linked_customer(
        self, customer_id: Id | None = None, external_id: ExternalId = "acc_pact",
        credit_limit_minor: Money = 10_000_000, currency: CurrencyCode | None = None,
    ) -> Obj:  # fmt: skip
        """The customer holding ``external_id`` with this credit limit (another holder of the
        external id gives it up: external ids are unique here)."""
        customers = self.col("erp_customer")
        holder = customers.first_by("external_id", external_id)
        if holder is not None and customer_id not in (None, holder["id"]):
            self.update("erp_customer", holder, {"external_id": None})
            holder = None
        customer = holder or customers.find(customer_id)
        if customer is None:
            made = self._state_customer(
                id=customer_id, credit_limit_minor=credit_limit_minor, currency=currency
            )
            customer = customers.get(made["customer_id"])
        changes = {"external_id": external_id, "credit_limit_minor": credit_limit_minor}
        if any(customer[k] != v for k, v in changes.items()):
            customer = self.update("erp_customer", customer, changes)
        return {"customer_id": customer["id"]}

    @provider_state("an ERP sales order {sales_order_id} for deal {external_id} exists")
    def _state_deal_order(
        self, sales_order_id: Id | None = None, external_id: ExternalId = "opp_pact",
        customer_id: Id | None = None, sku: Sku = "PLAT-STD", total_minor: Money = 1_200_000,
    ) -> Obj:  # fmt: skip
        """A booked order of the customer for the deal (``external_id``)."""
        holder = self.col("sales_order").first_by("external_id", external_id)
        if holder is not None and sales_order_id in (None, holder["id"]):
            return {"sales_order_id": holder["id"], "customer_id": holder["customer_id"]}
        ids = self._state_booked_order(
            id=sales_order_id, customer_id=customer_id, sku=sku, total_minor=total_minor
        )
        order = self.col("sales_order").get(ids["sales_order_id"])
        if holder is not None:
            self.update("sales_order", holder, {"external_id": None})
        if order["external_id"] != external_id:
            order = self.update("sales_order", order, {"external_id": external_id})
        return {"sales_order_id": order["id"], "customer_id": order["customer_id"]}

    @provider_state("the period is closed")
    def _state_period_closed(self, name: PeriodName | None = None) -> Obj:
        name = check_period_name(name or period_of(self.today()))
        period = self.find_period(name)
        if period is None or period["status"] != "closed":
            period = self.close_period(name)
        return {"period_id": period["id"], "name": name}
