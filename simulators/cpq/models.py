"""Request bodies of the CPQ API (responses are the lifecycle.entities models).

Clients send products, quantities and discounts, never prices or totals: the
server prices every quote. Every field is bounded so a fuzzer gets 422s, not 500s.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from lifecycle.entities._base import CurrencyCode
from lifecycle.entities.cpq import PriceBook, Product, Quote
from lifecycle.pricing import BillingType, PriceScheme
from simulators.kit.bodies import (
    BodyDate,
    Bps,
    Flag,
    Int,
    Money,
    PatchBody,
    Quantity,
    RequestBody,
    Sku,
)
from simulators.kit.params import Id

__all__ = [
    "ApproveRequest",
    "EntryInput",
    "EntryPrice",
    "LineInput",
    "PriceBookCreate",
    "PriceBookUpdate",
    "ProductCreate",
    "ProductUpdate",
    "QuoteCreate",
    "QuoteUpdate",
    "TierInput",
]

MAX_LINES = 200
MAX_ENTRIES = 1_000
MAX_TIERS = 20

ExternalId = Field(None, max_length=255)
TermMonths = Annotated[Int, Field(ge=1, le=120, description="1 to 120 months.")]


class ProductCreate(RequestBody):
    sku: Sku
    name: str = Field(min_length=1, max_length=255)
    family: str = Field(min_length=1, max_length=100)
    billing_type: BillingType
    unit: str = Field("unit", min_length=1, max_length=50)
    active: Flag = True
    external_id: str | None = ExternalId


class ProductUpdate(PatchBody):
    ENTITY = Product

    name: str | None = Field(None, min_length=1, max_length=255)
    family: str | None = Field(None, min_length=1, max_length=100)
    unit: str | None = Field(None, min_length=1, max_length=50)
    active: Flag | None = None


class TierInput(RequestBody):
    up_to: Annotated[Quantity, Field(ge=1)] | None = Field(
        None, description="Inclusive; null = no bound."
    )
    unit_amount_minor: Money = 0
    flat_amount_minor: Money = 0


class EntryPrice(RequestBody):
    """How a product is priced: ``per_unit`` takes ``unit_amount_minor``; the others tiers."""

    scheme: PriceScheme = PriceScheme.PER_UNIT
    unit_amount_minor: Money = 0
    tiers: list[TierInput] = Field(default_factory=list, max_length=MAX_TIERS)


class EntryInput(EntryPrice):
    """A product's price in a price book: name the product by ``product_id`` or ``sku``."""

    product_id: Id | None = None
    sku: Sku | None = None

    @model_validator(mode="after")
    def _names_a_product(self) -> Self:
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give exactly one of product_id and sku")
        return self


class PriceBookCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    currency: CurrencyCode
    is_default: Flag = False
    entries: list[EntryInput] = Field(default_factory=list, max_length=MAX_ENTRIES)
    external_id: str | None = ExternalId


class PriceBookUpdate(PatchBody):
    ENTITY = PriceBook

    name: str | None = Field(None, min_length=1, max_length=255)
    is_default: Flag | None = None


class LineInput(RequestBody):
    """A quote line: a product (``product_id`` or ``sku``), a quantity and a discount."""

    product_id: Id | None = None
    sku: Sku | None = None
    quantity: Quantity
    discount_bps: Bps = 0

    @model_validator(mode="after")
    def _names_a_product(self) -> Self:
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give exactly one of product_id and sku")
        return self


class QuoteCreate(RequestBody):
    price_book_id: Id | None = Field(None, description="Default: the currency's default book.")
    currency: CurrencyCode | None = Field(
        None, description="Must match the price book's; picks the default book when no id."
    )
    opportunity_id: Id | None = None
    account_id: Id | None = None
    term_months: TermMonths = 12
    discount_bps: Bps = 0
    lines: list[LineInput] = Field(default_factory=list, max_length=MAX_LINES)
    valid_until: BodyDate | None = Field(None, description="Default: 30 days from creation.")
    external_id: str | None = ExternalId


class QuoteUpdate(PatchBody):
    """Changes to a draft quote; ``lines`` replaces all lines."""

    ENTITY = Quote

    opportunity_id: Id | None = None
    account_id: Id | None = None
    term_months: TermMonths | None = None
    discount_bps: Bps | None = None
    lines: list[LineInput] | None = Field(None, max_length=MAX_LINES)
    valid_until: BodyDate | None = None


class ApproveRequest(RequestBody):
    approver: str = Field(min_length=1, max_length=255, description="Who approves the discount.")
