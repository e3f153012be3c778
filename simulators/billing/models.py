"""Request bodies of the billing API (responses are the lifecycle.entities models).

Every field is bounded, so a fuzzer's extremes get a 422 and never reach the
date and money arithmetic as something it cannot handle.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from lifecycle.entities._base import CurrencyCode
from simulators.kit.bodies import EARLIEST_DATE, LATEST_DATE, RequestBody

__all__ = [
    "CancelRequest",
    "CreditNoteCreate",
    "CustomerCreate",
    "CustomerUpdate",
    "InvoiceRun",
    "ItemChange",
    "ItemCreate",
    "PayRequest",
    "SubscriptionCreate",
    "SubscriptionUpdate",
    "UsageRecordCreate",
    "UsageRecordInput",
]


ExternalId = Field(None, max_length=255)
Sku = Field(min_length=1, max_length=100)
Quantity = Field(ge=0, le=1_000_000_000)
UnitAmount = Field(ge=0, le=1_000_000_000_000, description="Minor units per month or per unit.")
PaymentMethod = Field(
    None,
    min_length=1,
    max_length=64,
    pattern=r"^(\d{12,19}|pm_card_[A-Za-z_]{1,50})$",
    description="A Stripe test card number (4242424242424242) or test PaymentMethod id.",
)


class CustomerCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    currency: CurrencyCode = "USD"
    crm_account_id: str | None = Field(None, max_length=255)
    external_id: str | None = ExternalId
    payment_method: str | None = PaymentMethod


class CustomerUpdate(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=255)
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    crm_account_id: str | None = Field(None, max_length=255)
    payment_method: str | None = PaymentMethod


class ItemCreate(RequestBody):
    sku: str = Sku
    quantity: int = Field(1, ge=0, le=1_000_000_000)
    unit_amount_minor: int = UnitAmount
    usage_based: bool = False


class SubscriptionCreate(RequestBody):
    customer_id: str = Field(min_length=1, max_length=255)
    items: list[ItemCreate] = Field(min_length=1, max_length=100)
    currency: CurrencyCode | None = Field(None, description="Default: the customer's currency.")
    external_id: str | None = ExternalId
    quote_id: str | None = Field(None, max_length=255)
    term_months: int = Field(12, ge=1, le=120)
    start_date: date | None = Field(
        None, ge=EARLIEST_DATE, le=LATEST_DATE, description="Default: today on the simulator clock."
    )
    trial_days: int = Field(0, ge=0, le=730, description="Stripe allows trials up to 730 days.")


class ItemChange(RequestBody):
    """With ``id``: change or delete that item. Without: add a new item (needs sku and price)."""

    id: str | None = Field(None, max_length=100)
    sku: str | None = Field(None, min_length=1, max_length=100)
    quantity: int | None = Field(None, ge=0, le=1_000_000_000)
    unit_amount_minor: int | None = Field(None, ge=0, le=1_000_000_000_000)
    usage_based: bool | None = None
    deleted: bool = False


class SubscriptionUpdate(RequestBody):
    items: list[ItemChange] | None = Field(None, min_length=1, max_length=100)
    quote_id: str | None = Field(None, max_length=255)
    term_months: int | None = Field(None, ge=1, le=120)
    cancel_at_period_end: bool | None = None
    trial_end: Literal["now"] | None = Field(
        None, description='"now" ends a trial at once, as Stripe\'s trial_end=now does.'
    )


class CancelRequest(RequestBody):
    at_period_end: bool = Field(
        False, description="Cancel when the current period ends instead of now."
    )


def _bounded(moment: datetime) -> datetime:
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise ValueError(f"must fall between {EARLIEST_DATE} and {LATEST_DATE}")
    return moment


class UsageRecordInput(RequestBody):
    subscription_item_id: str = Field(min_length=1, max_length=100)
    quantity: int = Quantity
    timestamp: AwareDatetime | None = Field(
        None, description="When the usage happened; default now on the simulator clock."
    )
    external_id: str | None = ExternalId

    @field_validator("timestamp")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _bounded(value)


class UsageRecordCreate(UsageRecordInput):
    subscription_id: str = Field(min_length=1, max_length=255)


class InvoiceRun(RequestBody):
    tax_rate_bps: int | None = Field(
        None, ge=0, le=10_000, description="Default: the simulator's tax_rate_bps option (0)."
    )
    external_id: str | None = ExternalId


class PayRequest(RequestBody):
    payment_method: str | None = PaymentMethod


class CreditNoteCreate(RequestBody):
    amount_minor: int = Field(gt=0, le=10**15)
    reason: Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"] = (
        "order_change"
    )
    external_id: str | None = ExternalId
