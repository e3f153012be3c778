"""The pricing engine: per-unit, graduated-tier and volume prices, terms and discounts.

The CPQ simulator prices quotes with it and the data generator writes quotes
with it, so a generated quote and a simulated one always agree to the minor unit.
All arithmetic is on integers (``lifecycle.money``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from lifecycle.money import BPS_DENOMINATOR, apply_bps

__all__ = [
    "DEFAULT_APPROVAL_THRESHOLD_BPS",
    "BillingType",
    "LinePrice",
    "PriceScheme",
    "PriceSpec",
    "PricingError",
    "QuoteLineInput",
    "QuoteTotals",
    "Tier",
    "price_quantity",
    "price_quote",
]

# A quote whose overall discount is above 20 % needs a sales manager's approval.
DEFAULT_APPROVAL_THRESHOLD_BPS = 2_000


class PricingError(ValueError):
    """A price or quantity the engine cannot price."""


class BillingType(StrEnum):
    RECURRING = "recurring"
    ONE_TIME = "one_time"
    USAGE = "usage"


class PriceScheme(StrEnum):
    PER_UNIT = "per_unit"
    TIERED = "tiered"  # graduated: each unit at the price of the tier it falls in
    VOLUME = "volume"  # every unit at the price of the tier the total falls in


@dataclass(frozen=True, slots=True)
class Tier:
    """Units up to ``up_to`` (inclusive; None = no upper bound) cost ``unit_amount_minor``."""

    up_to: int | None
    unit_amount_minor: int
    flat_amount_minor: int = 0


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """How one product is priced in one price book (per month for recurring products)."""

    scheme: PriceScheme
    unit_amount_minor: int = 0
    tiers: tuple[Tier, ...] = ()

    def __post_init__(self) -> None:
        if self.scheme is PriceScheme.PER_UNIT:
            if self.unit_amount_minor < 0:
                raise PricingError("unit_amount_minor must not be negative")
            return
        if not self.tiers:
            raise PricingError(f"a {self.scheme.value} price needs at least one tier")
        bounds = [t.up_to for t in self.tiers]
        if bounds[-1] is not None:
            raise PricingError("the last tier must have no upper bound (up_to: null)")
        finite = [b for b in bounds[:-1] if b is not None]
        if len(finite) != len(bounds) - 1 or any(b <= 0 for b in finite):
            raise PricingError("only the last tier may be unbounded; bounds must be positive")
        if finite != sorted(set(finite)):
            raise PricingError("tier bounds must increase strictly")
        if any(t.unit_amount_minor < 0 or t.flat_amount_minor < 0 for t in self.tiers):
            raise PricingError("tier amounts must not be negative")


def price_quantity(spec: PriceSpec, quantity: int) -> int:
    """The amount, in minor units, of ``quantity`` units for one period."""
    if quantity < 0:
        raise PricingError("quantity must not be negative")
    if spec.scheme is PriceScheme.PER_UNIT:
        return spec.unit_amount_minor * quantity
    if quantity == 0:
        return 0
    if spec.scheme is PriceScheme.VOLUME:
        for tier in spec.tiers:
            if tier.up_to is None or quantity <= tier.up_to:
                return tier.unit_amount_minor * quantity + tier.flat_amount_minor
    total = 0
    lower = 0
    for tier in spec.tiers:
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        if upper > lower:
            total += (upper - lower) * tier.unit_amount_minor + tier.flat_amount_minor
        if tier.up_to is None or quantity <= tier.up_to:
            break
        lower = tier.up_to
    return total


@dataclass(frozen=True, slots=True)
class QuoteLineInput:
    """One quote line to price: a product's spec, its billing type, quantity and discount."""

    spec: PriceSpec
    billing_type: BillingType
    quantity: int
    discount_bps: int = 0


@dataclass(frozen=True, slots=True)
class LinePrice:
    list_minor: int
    discount_minor: int
    net_minor: int
    monthly_minor: int  # recurring (and usage estimate) per month after the line discount


@dataclass(frozen=True, slots=True)
class QuoteTotals:
    lines: tuple[LinePrice, ...]
    list_minor: int
    line_discount_minor: int
    header_discount_minor: int
    total_minor: int
    one_time_minor: int  # one-time lines after the line and header discounts
    recurring_monthly_minor: int  # per month after the line and header discounts
    recurring_monthly_list_minor: int  # per month before any discount
    effective_discount_bps: int
    needs_approval: bool


def price_quote(
    lines: Sequence[QuoteLineInput],
    term_months: int,
    header_discount_bps: int = 0,
    approval_threshold_bps: int = DEFAULT_APPROVAL_THRESHOLD_BPS,
) -> QuoteTotals:
    """Price a quote: line lists over the term, line discounts, then the header discount.

    Recurring and usage lines are priced per month times ``term_months`` (usage at the
    committed monthly quantity); one-time lines once. ``recurring_monthly_minor`` and
    ``one_time_minor`` carry both discounts, as a billing system should charge them;
    ``recurring_monthly_list_minor`` is the monthly amount before any discount. The
    quote needs approval when its overall discount against list is above
    ``approval_threshold_bps``.
    """
    if term_months < 1:
        raise PricingError("term_months must be at least 1")
    for bps in [header_discount_bps, *(line.discount_bps for line in lines)]:
        if not 0 <= bps <= BPS_DENOMINATOR:
            raise PricingError("discounts are basis points between 0 and 10000")
    priced: list[LinePrice] = []
    one_time = 0
    monthly = 0
    monthly_list = 0
    for line in lines:
        per_period = price_quantity(line.spec, line.quantity)
        months = 1 if line.billing_type is BillingType.ONE_TIME else term_months
        list_minor = per_period * months
        discount = apply_bps(list_minor, line.discount_bps)
        net = list_minor - discount
        line_monthly = 0
        if line.billing_type is BillingType.ONE_TIME:
            one_time += net
        else:
            line_monthly = per_period - apply_bps(per_period, line.discount_bps)
            monthly += line_monthly
            monthly_list += per_period
        priced.append(LinePrice(list_minor, discount, net, line_monthly))
    list_total = sum(p.list_minor for p in priced)
    line_discount = sum(p.discount_minor for p in priced)
    subtotal = list_total - line_discount
    header_discount = apply_bps(subtotal, header_discount_bps)
    total = subtotal - header_discount
    discount_total = list_total - total
    effective_bps = 0 if list_total == 0 else (discount_total * BPS_DENOMINATOR) // list_total
    return QuoteTotals(
        lines=tuple(priced),
        list_minor=list_total,
        line_discount_minor=line_discount,
        header_discount_minor=header_discount,
        total_minor=total,
        one_time_minor=one_time - apply_bps(one_time, header_discount_bps),
        recurring_monthly_minor=monthly - apply_bps(monthly, header_discount_bps),
        recurring_monthly_list_minor=monthly_list,
        effective_discount_bps=effective_bps,
        needs_approval=discount_total * BPS_DENOMINATOR > approval_threshold_bps * list_total,
    )
