"""The CPQ's refusals, each with its stable code and the field it is about."""

from __future__ import annotations

from simulators.kit.errors import Conflict, Invalid
from simulators.kit.state import Obj

__all__ = [
    "approval_required",
    "invalid_price",
    "product_inactive",
    "product_not_in_price_book",
    "quote_expired",
    "quote_locked",
    "unknown",
]


def unknown(kind: str, value: str, field: str, by: str = "id") -> Invalid:
    """422 ``unknown_<kind>``: a reference in the body names nothing that exists."""
    noun = kind.replace("_", " ")
    return Invalid(
        f"unknown_{kind}",
        f"no {noun} with {by} {value!r}",
        [{"field": field, "message": f"unknown {noun}"}],
    )


def invalid_price(field: str, message: str) -> Invalid:
    """A price the pricing engine refuses (lifecycle.pricing.PricingError)."""
    return Invalid("invalid_price", message, [{"field": field, "message": message}])


def product_not_in_price_book(product: Obj, book: Obj, field: str) -> Invalid:
    # Salesforce: "The product is not in the price book of this quote" (no PricebookEntry).
    return Invalid(
        "product_not_in_price_book",
        f"{product['sku']} ({product['id']}) has no price in {book['id']} ({book['currency']})",
        [{"field": field, "message": f"not in price book {book['id']}"}],
    )


def product_inactive(product: Obj, field: str) -> Invalid:
    # Salesforce refuses quote lines for products whose IsActive is false.
    return Invalid(
        "product_inactive",
        f"{product['sku']} ({product['id']}) is inactive and cannot be quoted",
        [{"field": field, "message": "inactive product"}],
    )


def quote_locked(quote: Obj) -> Conflict:
    # Salesforce CPQ locks a quote's lines once it leaves Draft (approval record lock).
    return Conflict(
        "quote_locked",
        f"{quote['id']} is {quote['status']}; only a draft quote can change",
        [{"field": "status", "message": "must be draft"}],
    )


def approval_required(quote: Obj, threshold_bps: int) -> Conflict:
    return Conflict(
        "approval_required",
        f"{quote['id']} discounts {quote['effective_discount_bps']} bps off list, above the "
        f"{threshold_bps} bps approval threshold; submit it and have it approved first",
        [{"field": "status", "message": "must be approved"}],
    )


def quote_expired(quote: Obj, today: str) -> Conflict:
    return Conflict(
        "quote_expired",
        f"{quote['id']} was valid until {quote['valid_until']}; today is {today}",
        [{"field": "valid_until", "message": "in the past"}],
    )
