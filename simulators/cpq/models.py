"""Request bodies of the CPQ API (responses are the lifecycle.entities models).

Clients send products, quantities and discounts, never prices or totals: the
server prices every quote. Every field is bounded so a fuzzer gets 422s, not 500s.
"""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field, field_validator, model_validator

from lifecycle.entities._base import CurrencyCode
from lifecycle.pricing import BillingType, PriceScheme
from simulators.kit.bodies import RequestBody, bounded_date

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

MAX_AMOUNT_MINOR = 1_000_000_000_000  # 10 billion in a 2-decimal currency: enough for a list price
MAX_QUANTITY = 100_000_000
MAX_LINES = 200
MAX_ENTRIES = 1_000
MAX_TIERS = 20

ExternalId = Field(None, max_length=255)
Sku = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
ObjectId = Field(None, min_length=1, max_length=100)
Bps = Field(0, ge=0, le=10_000, description="Basis points: 1000 = 10 %.")
Amount = Field(0, ge=0, le=MAX_AMOUNT_MINOR)


class ProductCreate(RequestBody):
    sku: str = Sku
    name: str = Field(min_length=1, max_length=255)
    family: str = Field(min_length=1, max_length=100)
    billing_type: BillingType
    unit: str = Field("unit", min_length=1, max_length=50)
    active: bool = True
    external_id: str | None = ExternalId


class ProductUpdate(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=255)
    family: str | None = Field(None, min_length=1, max_length=100)
    unit: str | None = Field(None, min_length=1, max_length=50)
    active: bool | None = None


class TierInput(RequestBody):
    up_to: int | None = Field(
        None, ge=1, le=MAX_QUANTITY, description="Inclusive; null = no bound."
    )
    unit_amount_minor: int = Amount
    flat_amount_minor: int = Amount


class EntryPrice(RequestBody):
    """How a product is priced: ``per_unit`` takes ``unit_amount_minor``; the others tiers."""

    scheme: PriceScheme = PriceScheme.PER_UNIT
    unit_amount_minor: int = Amount
    tiers: list[TierInput] = Field(default_factory=list, max_length=MAX_TIERS)


class EntryInput(EntryPrice):
    """A product's price in a price book: name the product by ``product_id`` or ``sku``."""

    product_id: str | None = ObjectId
    sku: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _names_a_product(self) -> Self:
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give exactly one of product_id and sku")
        return self


class PriceBookCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    currency: CurrencyCode
    is_default: bool = False
    entries: list[EntryInput] = Field(default_factory=list, max_length=MAX_ENTRIES)
    external_id: str | None = ExternalId


class PriceBookUpdate(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=255)
    is_default: bool | None = None


class LineInput(RequestBody):
    """A quote line: a product (``product_id`` or ``sku``), a quantity and a discount."""

    product_id: str | None = ObjectId
    sku: str | None = Field(None, min_length=1, max_length=100)
    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    discount_bps: int = Bps

    @model_validator(mode="after")
    def _names_a_product(self) -> Self:
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give exactly one of product_id and sku")
        return self


class QuoteCreate(RequestBody):
    price_book_id: str | None = Field(
        None, min_length=1, max_length=100, description="Default: the currency's default book."
    )
    currency: CurrencyCode | None = Field(
        None, description="Must match the price book's; picks the default book when no id."
    )
    opportunity_id: str | None = ObjectId
    account_id: str | None = ObjectId
    term_months: int = Field(12, ge=1, le=120)
    discount_bps: int = Bps
    lines: list[LineInput] = Field(default_factory=list, max_length=MAX_LINES)
    valid_until: date | None = Field(None, description="Default: 30 days from creation.")
    external_id: str | None = ExternalId

    _check_valid_until = field_validator("valid_until")(bounded_date)


class QuoteUpdate(RequestBody):
    """Changes to a draft quote; ``lines`` replaces all lines."""

    opportunity_id: str | None = ObjectId
    account_id: str | None = ObjectId
    term_months: int | None = Field(None, ge=1, le=120)
    discount_bps: int | None = Field(None, ge=0, le=10_000)
    lines: list[LineInput] | None = Field(None, max_length=MAX_LINES)
    valid_until: date | None = None

    _check_valid_until = field_validator("valid_until")(bounded_date)


class ApproveRequest(RequestBody):
    approver: str = Field(min_length=1, max_length=255, description="Who approves the discount.")
