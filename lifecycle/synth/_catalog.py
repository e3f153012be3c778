"""The fixed world every account shares: regions, products, price books, ERP items, periods.

Prices are whole multiples of 400 minor units and discounts whole multiples of 5 %,
so the pricing engine's integer results split exactly into per-month, per-unit
subscription prices and per-line order amounts (quote, order and subscription agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lifecycle.ids import IdFactory
from lifecycle.pricing import BillingType, PriceScheme, PriceSpec, Tier
from lifecycle.synth._time import US_PER_DAY, US_PER_HOUR, add_months, date_of_us, ts, us_of_date

__all__ = ["COUNTRIES", "PRODUCTS", "REGIONS", "Catalog", "Country", "ProductDef", "build_catalog"]

Obj = dict[str, Any]
PRICE_QUANTUM_MINOR = 400


@dataclass(frozen=True)
class Country:
    code: str
    region: str
    currency: str
    legal_entity: str
    vat_bps: int
    usd_rate_ppm: int  # minor units of the currency per USD cent, in millionths
    utc_offset_h: int  # business time zone (standard time, no daylight saving): deals close in it


COUNTRIES: tuple[Country, ...] = (
    Country("US", "na", "USD", "US01", 0, 1_000_000, -5),
    Country("CA", "na", "CAD", "CA01", 500, 1_360_000, -5),
    Country("GB", "emea", "GBP", "GB01", 2_000, 790_000, 0),
    Country("DE", "emea", "EUR", "DE01", 1_900, 920_000, 1),
    Country("FR", "emea", "EUR", "FR01", 2_000, 920_000, 1),
    Country("SE", "emea", "SEK", "SE01", 2_500, 10_500_000, 1),
    Country("AU", "apac", "AUD", "AU01", 1_000, 1_520_000, 10),
    Country("JP", "apac", "JPY", "JP01", 1_000, 1_500_000, 9),
    Country("SG", "apac", "SGD", "SG01", 900, 1_340_000, 8),
    Country("BR", "latam", "BRL", "BR01", 0, 5_000_000, -3),
    Country("MX", "latam", "MXN", "MX01", 1_600, 17_000_000, -6),
)
REGIONS: dict[str, tuple[Country, ...]] = {
    r: tuple(c for c in COUNTRIES if c.region == r) for r in ("na", "emea", "apac", "latam")
}


@dataclass(frozen=True)
class ProductDef:
    sku: str
    name: str
    family: str
    billing_type: BillingType
    unit: str
    scheme: PriceScheme
    usd_minor: int = 0
    tiers: tuple[tuple[int | None, int], ...] = ()  # (up_to, unit USD minor)
    support_tier: str | None = None


_R, _O, _U = BillingType.RECURRING, BillingType.ONE_TIME, BillingType.USAGE
_PU, _VOL = PriceScheme.PER_UNIT, PriceScheme.VOLUME
PRODUCTS: tuple[ProductDef, ...] = (
    ProductDef("PLAT-STD", "Platform Standard", "platform", _R, "seat", _PU, 4_000),
    ProductDef("PLAT-PRO", "Platform Professional", "platform", _R, "seat", _VOL,
               tiers=((50, 8_000), (200, 7_200), (None, 6_400))),
    ProductDef("PLAT-ENT", "Platform Enterprise", "platform", _R, "seat", _VOL,
               tiers=((500, 12_000), (2_000, 10_400), (None, 8_800))),
    ProductDef("ADD-ANL", "Analytics", "add_on", _R, "seat", _PU, 2_000),
    ProductDef("ADD-SEC", "Security Suite", "add_on", _R, "seat", _PU, 2_400),
    ProductDef("SUP-STD", "Standard Support", "support", _R, "plan", _PU, 20_000,
               support_tier="standard"),
    ProductDef("SUP-PRM", "Premium Support", "support", _R, "plan", _PU, 80_000,
               support_tier="premium"),
    ProductDef("SUP-ENT", "Enterprise Support", "support", _R, "plan", _PU, 240_000,
               support_tier="enterprise"),
    ProductDef("SVC-ONB", "Onboarding", "services", _O, "package", _PU, 400_000),
    ProductDef("SVC-PS", "Professional Services Day", "services", _O, "day", _PU, 160_000),
    ProductDef("USG-API", "API Calls (per 1,000)", "usage", _U, "1k_calls", _PU, 400),
    ProductDef("USG-STO", "Storage (per GB)", "usage", _U, "gb", _VOL,
               tiers=((1_000, 800), (None, 400))),
)  # fmt: skip
SKU_INDEX: dict[str, int] = {p.sku: i for i, p in enumerate(PRODUCTS)}


def _convert(usd_minor: int, rate_ppm: int) -> int:
    """A USD price in another currency, rounded to the price quantum (never zero)."""
    raw = usd_minor * rate_ppm // 1_000_000
    return max(PRICE_QUANTUM_MINOR, round(raw / PRICE_QUANTUM_MINOR) * PRICE_QUANTUM_MINOR)


@dataclass
class Catalog:
    """Everything shared: product and item records, and per-currency price specs."""

    products: list[Obj]
    items: list[Obj]
    price_books: dict[str, Obj]  # currency -> record
    specs: dict[str, tuple[PriceSpec, ...]]  # currency -> spec per product index
    periods: list[Obj]


def _entry(product: Obj, d: ProductDef, rate: int) -> tuple[Obj, PriceSpec]:
    if d.scheme is _PU:
        unit = _convert(d.usd_minor, rate)
        entry = {"product_id": product["id"], "sku": d.sku, "scheme": d.scheme.value,
                 "unit_amount_minor": unit, "tiers": []}  # fmt: skip
        return entry, PriceSpec(d.scheme, unit)
    tiers = tuple(Tier(up, _convert(u, rate)) for up, u in d.tiers)
    entry = {
        "product_id": product["id"], "sku": d.sku, "scheme": d.scheme.value,
        "unit_amount_minor": 0,
        "tiers": [{"up_to": t.up_to, "unit_amount_minor": t.unit_amount_minor,
                   "flat_amount_minor": 0} for t in tiers],
    }  # fmt: skip
    return entry, PriceSpec(d.scheme, 0, tiers)


def _base(ids: IdFactory, object_type: str, at: str, external_id: str | None = None) -> Obj:
    return {"id": ids.new(object_type), "external_id": external_id, "version": 1,
            "created_at": at, "updated_at": at, "correlation_id": None}  # fmt: skip


def build_catalog(ids: IdFactory, start_us: int, as_of_us: int) -> Catalog:
    """Products, items and price books made before ``start_us``; periods up to ``as_of_us``."""
    at = ts(start_us - 30 * US_PER_DAY)
    products = []
    items = []
    for d in PRODUCTS:
        p = _base(ids, "product", at)
        p.update(sku=d.sku, name=d.name, family=d.family, billing_type=d.billing_type.value,
                 unit=d.unit, active=True)  # fmt: skip
        products.append(p)
        item_type = {_R: "subscription", _O: "service", _U: "non_inventory"}[d.billing_type]
        it = _base(ids, "item", at, external_id=p["id"])
        revenue = {_R: "4000", _O: "4100", _U: "4200"}[d.billing_type]
        it.update(sku=d.sku, name=d.name, type=item_type, revenue_account=revenue)
        items.append(it)
    books: dict[str, Obj] = {}
    specs: dict[str, tuple[PriceSpec, ...]] = {}
    for country in COUNTRIES:
        if country.currency in books:
            continue
        entries = [
            _entry(p, d, country.usd_rate_ppm) for p, d in zip(products, PRODUCTS, strict=True)
        ]
        pb = _base(ids, "price_book", at)
        pb.update(name=f"List {country.currency}", currency=country.currency,
                  is_default=country.currency == "USD",
                  entries=[e for e, _ in entries])  # fmt: skip
        books[country.currency] = pb
        specs[country.currency] = tuple(s for _, s in entries)
    return Catalog(products, items, books, specs, _periods(start_us, as_of_us))


def _periods(start_us: int, as_of_us: int) -> list[Obj]:
    """One accounting period per month; a month closes on the 5th of the next, 18:00."""
    out = []
    month = date_of_us(start_us).replace(day=1)
    last = date_of_us(as_of_us).replace(day=1)
    while month <= last:
        opened = us_of_date(month)
        closes = us_of_date(add_months(month, 1)) + 4 * US_PER_DAY + 18 * US_PER_HOUR
        closed = closes <= as_of_us
        name = month.isoformat()[:7]
        out.append({
            "id": f"per_{name.replace('-', '_')}", "external_id": None,
            "version": 2 if closed else 1,
            "created_at": ts(opened), "updated_at": ts(closes if closed else opened),
            "correlation_id": None, "name": name, "status": "closed" if closed else "open",
            "closed_at": ts(closes) if closed else None,
        })  # fmt: skip
        month = add_months(month, 1)
    return out
