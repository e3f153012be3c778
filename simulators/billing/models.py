"""Request bodies of the billing API (responses are the lifecycle.entities models).

Every field is bounded, so a fuzzer's extremes get a 422 and never reach the
date and money arithmetic as something it cannot handle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, field_validator

from lifecycle.entities._base import CurrencyCode
from lifecycle.entities.billing import BillingCustomer, Subscription
from simulators.kit.bodies import (
    EARLIEST_DATE,
    LATEST_DATE,
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
UnitAmount = Field(description="Minor units per month or per unit.")
TermMonths = Annotated[Int, Field(ge=1, le=120, description="1 to 120 months.")]
PaymentMethod = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^(\d{12,19}|pm_card_[A-Za-z_]{1,50})$",
        description="A Stripe test card number (4242424242424242) or test PaymentMethod id.",
    ),
]


class CustomerCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    currency: CurrencyCode = "USD"
    crm_account_id: Id | None = None
    external_id: str | None = ExternalId
    payment_method: PaymentMethod | None = None


class CustomerUpdate(PatchBody):
    ENTITY = BillingCustomer

    name: str | None = Field(None, min_length=1, max_length=255)
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    crm_account_id: Id | None = None
    payment_method: PaymentMethod | None = None


class ItemCreate(RequestBody):
    sku: Sku
    quantity: Quantity = 1
    unit_amount_minor: Money = UnitAmount
    usage_based: Flag = False


class SubscriptionCreate(RequestBody):
    customer_id: Id
    items: list[ItemCreate] = Field(min_length=1, max_length=100)
    currency: CurrencyCode | None = Field(None, description="Default: the customer's currency.")
    external_id: str | None = ExternalId
    quote_id: Id | None = None
    term_months: TermMonths = 12
    start_date: BodyDate | None = Field(None, description="Default: today on the simulator clock.")
    trial_days: Int = Field(0, ge=0, le=730, description="Stripe allows trials up to 730 days.")


class ItemChange(RequestBody):
    """With ``id``: change or delete that item. Without: add a new item (needs sku and price)."""

    id: Id | None = None
    sku: Sku | None = None
    quantity: Quantity | None = None
    unit_amount_minor: Money | None = None
    usage_based: Flag | None = None
    deleted: Flag = False


class SubscriptionUpdate(PatchBody):
    ENTITY = Subscription

    items: list[ItemChange] | None = Field(None, min_length=1, max_length=100)
    quote_id: Id | None = None
    term_months: TermMonths | None = None
    cancel_at_period_end: Flag | None = None
    trial_end: Literal["now"] | None = Field(
        None, description='"now" ends a trial at once, as Stripe\'s trial_end=now does.'
    )


class CancelRequest(RequestBody):
    at_period_end: Flag = Field(
        False, description="Cancel when the current period ends instead of now."
    )


def _bounded(moment: datetime) -> datetime:
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise ValueError(f"must fall between {EARLIEST_DATE} and {LATEST_DATE}")
    return moment


class UsageRecordInput(RequestBody):
    subscription_item_id: Id
    quantity: Quantity
    timestamp: AwareDatetime | None = Field(
        None, description="When the usage happened; default now on the simulator clock."
    )
    external_id: str | None = ExternalId

    @field_validator("timestamp")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _bounded(value)


class UsageRecordCreate(UsageRecordInput):
    subscription_id: Id


class InvoiceRun(RequestBody):
    tax_rate_bps: Bps | None = Field(
        None, description="Default: the simulator's tax_rate_bps option (0)."
    )
    external_id: str | None = ExternalId


class PayRequest(RequestBody):
    payment_method: PaymentMethod | None = None


class CreditNoteCreate(RequestBody):
    amount_minor: Annotated[Money, Field(gt=0)]
    reason: Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"] = (
        "order_change"
    )
    external_id: str | None = ExternalId
