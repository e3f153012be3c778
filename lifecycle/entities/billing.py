"""Billing entities (Stripe/Zuora-like): customers, subscriptions, usage, invoices, payments."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.entities._base import CurrencyCode, Date, Entity, MinorUnits, Timestamp
from lifecycle.states import InvoiceStatus, SubscriptionStatus

__all__ = [
    "BillingCustomer",
    "CreditNote",
    "Invoice",
    "InvoiceLine",
    "Payment",
    "Subscription",
    "SubscriptionItem",
    "UsageRecord",
]


class BillingCustomer(Entity):
    name: str
    email: str
    currency: CurrencyCode = "USD"
    crm_account_id: str | None = None
    payment_method: str | None = Field(
        None, description="A test card number, as in Stripe's test mode (4242... succeeds)."
    )


class SubscriptionItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    sku: str
    quantity: int = Field(ge=0)
    unit_amount_minor: MinorUnits = Field(ge=0, description="Per month, or per unit of usage.")
    usage_based: bool = False


class Subscription(Entity):
    customer_id: str
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    currency: CurrencyCode = "USD"
    items: list[SubscriptionItem] = Field(default_factory=list)
    quote_id: str | None = None
    term_months: int = Field(12, ge=1, le=120)
    start_date: Date
    current_period_start: Date
    current_period_end: Date
    trial_end: Date | None = None
    cancel_at_period_end: bool = False
    canceled_at: Timestamp | None = None
    flags: list[str] = Field(
        default_factory=list,
        description="billing_failed when an invoice run could not bill a period "
        "(amount_too_large); cleared when the items change.",
    )


class UsageRecord(Entity):
    subscription_id: str
    subscription_item_id: str
    quantity: int = Field(ge=0)
    timestamp: Timestamp


class InvoiceLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["recurring", "usage", "one_time"]
    sku: str
    description: str
    quantity: int = Field(ge=0)
    unit_amount_minor: MinorUnits
    amount_minor: MinorUnits


class Invoice(Entity):
    customer_id: str
    subscription_id: str | None = None
    number: str
    status: InvoiceStatus = InvoiceStatus.DRAFT
    currency: CurrencyCode = "USD"
    period_start: Date
    period_end: Date
    lines: list[InvoiceLine] = Field(default_factory=list)
    subtotal_minor: MinorUnits = 0
    tax_minor: MinorUnits = 0
    total_minor: MinorUnits = 0
    amount_paid_minor: MinorUnits = 0
    amount_credited_minor: MinorUnits = 0
    amount_remaining_minor: MinorUnits = 0
    due_date: Date | None = None
    attempt_count: int = 0
    next_payment_attempt: Timestamp | None = Field(
        None, description="When dunning retries the payment next; None when no retry is due."
    )
    finalized_at: Timestamp | None = None
    paid_at: Timestamp | None = None


class Payment(Entity):
    invoice_id: str
    customer_id: str
    amount_minor: MinorUnits
    currency: CurrencyCode
    status: Literal["succeeded", "failed"]
    payment_method: str
    failure_code: str | None = None


class CreditNote(Entity):
    invoice_id: str
    amount_minor: MinorUnits = Field(gt=0)
    currency: CurrencyCode
    reason: Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"] = (
        "order_change"
    )
