"""CPQ entities: products, price books with tiered and volume prices, quotes with lines."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.entities._base import CurrencyCode, Date, Entity, MinorUnits, Timestamp
from lifecycle.pricing import BillingType, PriceScheme, PriceSpec, Tier
from lifecycle.states import QuoteStatus

__all__ = ["PriceBook", "PriceBookEntry", "Product", "Quote", "QuoteLine", "TierModel"]


class Product(Entity):
    sku: str
    name: str
    family: str
    billing_type: BillingType
    unit: str = "unit"
    active: bool = True


class TierModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to: int | None = Field(None, ge=1, description="Inclusive upper bound; null = no bound.")
    unit_amount_minor: MinorUnits = Field(ge=0)
    flat_amount_minor: MinorUnits = Field(0, ge=0)


class PriceBookEntry(BaseModel):
    """A product's price in a price book; recurring and usage prices are per month."""

    model_config = ConfigDict(extra="forbid")

    product_id: str
    sku: str
    scheme: PriceScheme = PriceScheme.PER_UNIT
    unit_amount_minor: MinorUnits = Field(0, ge=0)
    tiers: list[TierModel] = Field(default_factory=list)

    def spec(self) -> PriceSpec:
        return PriceSpec(
            scheme=self.scheme,
            unit_amount_minor=self.unit_amount_minor,
            tiers=tuple(
                Tier(t.up_to, t.unit_amount_minor, t.flat_amount_minor) for t in self.tiers
            ),
        )


class PriceBook(Entity):
    name: str
    currency: CurrencyCode
    is_default: bool = False
    entries: list[PriceBookEntry] = Field(default_factory=list)


class QuoteLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    product_id: str
    sku: str
    billing_type: BillingType
    quantity: int = Field(ge=0)
    discount_bps: int = Field(0, ge=0, le=10_000)
    list_minor: MinorUnits
    discount_minor: MinorUnits
    net_minor: MinorUnits
    monthly_minor: MinorUnits


class Quote(Entity):
    opportunity_id: str | None = None
    account_id: str | None = None
    price_book_id: str
    currency: CurrencyCode
    term_months: int = Field(12, ge=1, le=120)
    status: QuoteStatus = QuoteStatus.DRAFT
    discount_bps: int = Field(0, ge=0, le=10_000, description="Header discount.")
    lines: list[QuoteLine] = Field(default_factory=list)
    list_minor: MinorUnits = 0
    line_discount_minor: MinorUnits = 0
    header_discount_minor: MinorUnits = 0
    total_minor: MinorUnits = 0
    one_time_minor: MinorUnits = Field(
        0, description="One-time charges after the line and header discounts."
    )
    recurring_monthly_minor: MinorUnits = Field(
        0, description="What to bill per month: after the line and header discounts."
    )
    recurring_monthly_list_minor: MinorUnits = Field(
        0, description="The monthly amount before any discount."
    )
    effective_discount_bps: int = 0
    needs_approval: bool = False
    approved_by: str | None = None
    valid_until: Date | None = None
    accepted_at: Timestamp | None = None
