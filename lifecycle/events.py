"""The event envelope every simulator emits, and the event types by system.

``{id, type, system, occurred_at, correlation_id, data}``: the same shape on the
pull feed (``GET /events``), on webhook deliveries and in generated event files.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lifecycle.systems import SYSTEMS

__all__ = ["EVENT_TYPES", "SYSTEMS", "Event", "event_id"]

# Event types per system: ``<object>.<what happened>`` in the past tense.
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "crm": (
        "account.created", "account.updated",
        "contact.created", "contact.updated",
        "opportunity.created", "opportunity.updated", "opportunity.stage_changed",
        "opportunity.closed_won", "opportunity.closed_lost",
    ),
    "cpq": (
        "product.created", "product.updated", "price_book.created", "price_book.updated",
        "quote.created", "quote.updated", "quote.submitted", "quote.approved",
        "quote.rejected", "quote.accepted", "quote.expired",
    ),
    "billing": (
        "customer.created", "customer.updated",
        "subscription.created", "subscription.updated", "subscription.activated",
        "subscription.past_due", "subscription.unpaid", "subscription.canceled",
        "subscription.renewed",
        "usage_record.created",
        "invoice.created", "invoice.finalized", "invoice.posted", "invoice.paid",
        "invoice.voided", "invoice.marked_uncollectible",
        "payment.succeeded", "payment.failed",
        "credit_note.created",
    ),
    "support": (
        "organization.created", "organization.updated",
        "entitlement.created", "entitlement.updated", "entitlement.activated",
        "entitlement.suspended", "entitlement.expired",
        "case.created", "case.updated", "case.status_changed", "case.sla_breached",
    ),
    "erp": (
        "customer.created", "customer.updated", "item.created", "item.updated",
        "order.created", "order.updated", "order.booked", "order.fulfilled", "order.invoiced",
        "order.closed", "order.cancelled",
        "ar_invoice.posted", "ar_invoice.paid", "ar_invoice.voided",
        "receipt.applied", "journal_entry.posted", "period.closed", "period.reopened",
    ),
}  # fmt: skip


def event_id(system: str, sequence: int) -> str:
    """Event ids sort in emission order within a system: ``evt_erp_000000000042``."""
    return f"evt_{system}_{sequence:012d}"


class Event(BaseModel):
    """One state change, as every simulator emits it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: str
    system: str
    occurred_at: str
    correlation_id: str | None = None
    data: dict[str, Any]
