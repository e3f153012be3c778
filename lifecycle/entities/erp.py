"""Cloud ERP entities (NetSuite/S/4-like): customers, items, orders, AR, receipts, ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.entities._base import CurrencyCode, Date, Entity, MinorUnits, Timestamp
from lifecycle.states import SalesOrderStatus

__all__ = [
    "AccountingPeriod",
    "ArInvoice",
    "ErpCustomer",
    "Item",
    "JournalEntry",
    "JournalLine",
    "OrderLine",
    "Receipt",
    "ReceiptApplication",
    "SalesOrder",
]


class ErpCustomer(Entity):
    name: str
    legal_entity: str = Field("US01", description="Subsidiary that books the customer.")
    currency: CurrencyCode = "USD"
    credit_limit_minor: MinorUnits = Field(10_000_000, ge=0)
    tax_exempt: bool = False
    crm_account_id: str | None = None


class Item(Entity):
    sku: str
    name: str
    type: Literal["service", "non_inventory", "subscription"] = "subscription"
    revenue_account: str = "4000"


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1)
    item_id: str
    sku: str
    quantity: int = Field(ge=0)
    unit_price_minor: MinorUnits = Field(ge=0)
    amount_minor: MinorUnits


class SalesOrder(Entity):
    customer_id: str
    status: SalesOrderStatus = SalesOrderStatus.PENDING_APPROVAL
    currency: CurrencyCode
    order_date: Date
    lines: list[OrderLine] = Field(default_factory=list)
    subtotal_minor: MinorUnits = 0
    tax_minor: MinorUnits = 0
    total_minor: MinorUnits = 0
    quote_id: str | None = None
    opportunity_id: str | None = None
    memo: str | None = None


class ArInvoice(Entity):
    customer_id: str
    sales_order_id: str | None = None
    status: Literal["open", "paid", "void"] = "open"
    currency: CurrencyCode
    posting_date: Date
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    subtotal_minor: MinorUnits
    tax_minor: MinorUnits = 0
    total_minor: MinorUnits
    amount_due_minor: MinorUnits
    journal_entry_id: str | None = None
    memo: str | None = None


class ReceiptApplication(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ar_invoice_id: str
    amount_minor: MinorUnits = Field(gt=0)


class Receipt(Entity):
    customer_id: str
    amount_minor: MinorUnits = Field(gt=0)
    currency: CurrencyCode
    received_date: Date
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    applications: list[ReceiptApplication] = Field(default_factory=list)
    journal_entry_id: str | None = None


class JournalLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str
    debit_minor: MinorUnits = Field(0, ge=0)
    credit_minor: MinorUnits = Field(0, ge=0)


class JournalEntry(Entity):
    """A balanced posting: the sum of debits equals the sum of credits, always."""

    legal_entity: str = "US01"
    posting_date: Date
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    currency: CurrencyCode
    memo: str | None = None
    source_type: str | None = None
    source_id: str | None = None
    lines: list[JournalLine]


class AccountingPeriod(Entity):
    """One month of the ledger; ``id`` is ``per_YYYY_MM`` and ``name`` is ``YYYY-MM``."""

    name: str = Field(pattern=r"^\d{4}-\d{2}$")
    status: Literal["open", "closed"] = "open"
    closed_at: Timestamp | None = None
