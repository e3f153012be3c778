"""The ERP's refusals that several rules share, each with its stable code and field."""

from __future__ import annotations

from simulators.kit.errors import Invalid
from simulators.kit.state import Obj

__all__ = [
    "credit_limit_exceeded",
    "currency_mismatch",
    "customer_mismatch",
    "unknown",
]

_NOUNS = {
    "customer": "customer",
    "item": "item",
    "sales_order": "sales order",
    "ar_invoice": "AR invoice",
}


def unknown(
    kind: str, value: str, field: str, *, by: str = "id", code: str | None = None
) -> Invalid:
    """422 ``unknown_<kind>``: a reference in the body names nothing that exists."""
    noun = _NOUNS.get(kind, kind)
    return Invalid(
        code or f"unknown_{kind}",
        f"no {noun} with {by} {value!r}",
        [{"field": field, "message": f"unknown {noun}"}],
    )


def credit_limit_exceeded(customer: Obj, exposure: int, amount: int) -> Invalid:
    """NetSuite's credit-limit hold, enforced as a refusal: AR + open orders + this order."""
    limit = customer["credit_limit_minor"]
    return Invalid(
        "credit_limit_exceeded",
        f"{customer['id']}: open AR and orders {exposure} plus this order {amount} "
        f"exceed the credit limit {limit} {customer['currency']}",
        [{"field": "lines", "message": f"at most {max(limit - exposure, 0)} available",
          "credit_limit_minor": limit, "exposure_minor": exposure, "order_total_minor": amount}],
    )  # fmt: skip


def currency_mismatch(customer: Obj, currency: str, field: str = "currency") -> Invalid:
    return Invalid(
        "currency_mismatch",
        f"{customer['id']} transacts in {customer['currency']}, not {currency}",
        [{"field": field, "message": f"must be {customer['currency']}"}],
    )


def customer_mismatch(field: str, object_id: str, customer_id: str) -> Invalid:
    return Invalid(
        "customer_mismatch",
        f"{object_id} belongs to another customer than {customer_id}",
        [{"field": field, "message": "belongs to another customer"}],
    )
