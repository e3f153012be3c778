"""Request bodies of the ERP API, and the trial balance report (objects are lifecycle.entities).

Every field is bounded (``simulators/kit/bodies.py``), so fuzzed input gets a 422 and
never a 500; an order whose total passes the money bound is refused by the rules.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from lifecycle.entities._base import CurrencyCode
from lifecycle.entities.erp import ErpCustomer, Item, SalesOrder
from simulators.kit.bodies import BodyDate, Flag, Money, PatchBody, Quantity, RequestBody, Sku
from simulators.kit.params import Id

__all__ = [
    "PERIOD_PATTERN",
    "ApplicationIn",
    "CustomerCreate",
    "CustomerUpdate",
    "InvoiceCreate",
    "ItemCreate",
    "ItemUpdate",
    "JournalEntryCreate",
    "JournalLineIn",
    "OrderInvoice",
    "OrderLineIn",
    "ReceiptCreate",
    "SalesOrderCreate",
    "SalesOrderUpdate",
    "TrialBalance",
]

ExternalId = Annotated[str, Field(min_length=1, max_length=255)] | None
AccountNumber = Annotated[str, Field(pattern=r"^\d{4}$", description="Chart of accounts number.")]
PERIOD_PATTERN = r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"  # the months of the body dates' range
PeriodName = Annotated[
    str, Field(pattern=PERIOD_PATTERN, description="YYYY-MM", examples=["2026-03"])
]
LegalEntityCode = Annotated[str, Field(pattern=r"^[A-Z]{2}\d{2}$", examples=["US01", "DE01"])]
Memo = Annotated[str, Field(max_length=1000)] | None
ItemType = Literal["service", "non_inventory", "subscription"]


class CustomerCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    legal_entity: LegalEntityCode = "US01"
    currency: CurrencyCode | None = Field(None, description="Default: the legal entity's.")
    credit_limit_minor: Money = 10_000_000
    tax_exempt: Flag = False
    crm_account_id: Id | None = None
    external_id: ExternalId = None


class CustomerUpdate(PatchBody):
    ENTITY = ErpCustomer

    name: str | None = Field(None, min_length=1, max_length=255)
    credit_limit_minor: Money | None = None
    tax_exempt: Flag | None = None
    crm_account_id: Id | None = None


class ItemCreate(RequestBody):
    sku: Sku
    name: str = Field(min_length=1, max_length=255)
    type: ItemType = "subscription"
    revenue_account: AccountNumber = "4000"
    external_id: ExternalId = None


class ItemUpdate(PatchBody):
    ENTITY = Item

    name: str | None = Field(None, min_length=1, max_length=255)
    type: ItemType | None = None
    revenue_account: AccountNumber | None = None


class OrderLineIn(RequestBody):
    item_id: Id | None = None
    sku: Sku | None = None
    quantity: Annotated[Quantity, Field(ge=1)]
    unit_price_minor: Money

    @model_validator(mode="after")
    def _names_an_item(self) -> Self:
        if self.item_id is None and self.sku is None:
            raise ValueError("a line names its item by sku or item_id")
        return self


class SalesOrderCreate(RequestBody):
    customer_id: Id
    currency: CurrencyCode | None = Field(None, description="Default: the customer's.")
    order_date: BodyDate | None = Field(None, description="Default: today on the sim clock.")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    quote_id: Id | None = None
    opportunity_id: Id | None = None
    external_id: ExternalId = None
    memo: Memo = None


class SalesOrderUpdate(PatchBody):
    ENTITY = SalesOrder

    memo: Memo = None


class OrderInvoice(RequestBody):
    external_id: ExternalId = None
    memo: Memo = None


class InvoiceCreate(RequestBody):
    customer_id: Id
    external_id: ExternalId = None
    currency: CurrencyCode | None = Field(None, description="Default: the customer's.")
    posting_date: BodyDate | None = Field(None, description="Default: today on the sim clock.")
    subtotal_minor: Money
    tax_minor: Money | None = Field(
        None,
        description="As the billing system computed it; default: the customer's legal-entity "
        "rate on the subtotal (0 when tax exempt).",
    )
    memo: Memo = None
    sales_order_id: Id | None = None


class ApplicationIn(RequestBody):
    ar_invoice_id: Id
    amount_minor: Annotated[Money, Field(gt=0)]


class ReceiptCreate(RequestBody):
    customer_id: Id
    amount_minor: Annotated[Money, Field(gt=0)]
    currency: CurrencyCode | None = Field(None, description="Default: the customer's.")
    received_date: BodyDate | None = Field(None, description="Default: today on the sim clock.")
    applications: list[ApplicationIn] = Field(default_factory=list, max_length=100)
    external_id: ExternalId = None


class JournalLineIn(RequestBody):
    account: AccountNumber
    debit_minor: Money = 0
    credit_minor: Money = 0


class JournalEntryCreate(RequestBody):
    legal_entity: LegalEntityCode = "US01"
    posting_date: BodyDate | None = Field(None, description="Default: today on the sim clock.")
    currency: CurrencyCode
    memo: Memo = None
    lines: list[JournalLineIn] = Field(min_length=2, max_length=100)
    external_id: ExternalId = None


class TrialBalanceAccount(BaseModel):
    legal_entity: str
    currency: str
    account: str
    account_name: str
    debit_minor: int
    credit_minor: int
    balance_minor: int = Field(description="Debits minus credits.")


class TrialBalanceTotal(BaseModel):
    legal_entity: str
    currency: str
    debit_minor: int
    credit_minor: int
    balanced: bool


class TrialBalance(BaseModel):
    """Account balances per legal entity and currency; each total's debits equal its credits."""

    period: str | None
    legal_entity: str | None
    accounts: list[TrialBalanceAccount]
    totals: list[TrialBalanceTotal]
    balanced: bool
