"""The events the reference middleware consumes: example envelopes, plain and under matchers.

The envelope is docs/events.md's; ``data`` holds the fields the middleware's flows read
(examples/reference_middleware/flows.py), each under a matcher, so the message pacts say
what the middleware needs of each event and nothing more.
"""

from __future__ import annotations

from typing import Any

from pact import match
from pact.match.matcher import GenericMatcher

from tests.contracts.pact_consumer.examples import (
    ACCOUNT,
    CURRENCY,
    END,
    INVOICE,
    OPPORTUNITY,
    PAYMENT,
    QUOTE,
    RENEWED_END,
    SUBSCRIPTION,
    TOTAL_MINOR,
)
from tests.contracts.pact_consumer.http_calls import EVENT_ID, is_

__all__ = ["EVENT_DATA", "envelope", "plain"]

_CUR = match.regex(CURRENCY, regex=r"^[A-Z]{3}$")
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_INVOICE_DATA: dict[str, Any] = {
    "id": match.str(INVOICE), "subscription_id": match.str(SUBSCRIPTION), "currency": _CUR,
    "subtotal_minor": match.int(100_000), "tax_minor": match.int(0),
    "number": match.str("INV-0001"),
}  # fmt: skip
_SUBSCRIPTION_DATA: dict[str, Any] = {
    "id": match.str(SUBSCRIPTION), "external_id": match.str(OPPORTUNITY),
    "current_period_end": match.regex(RENEWED_END, regex=_DATE),
}  # fmt: skip

# (system, event type) -> the data fields the middleware reads, under matchers.
EVENT_DATA: dict[tuple[str, str], dict[str, Any]] = {
    ("crm", "opportunity.closed_won"): {
        "id": match.str(OPPORTUNITY), "account_id": match.str(ACCOUNT),
        "primary_quote_id": match.str(QUOTE), "name": match.str("Pact deal"),
        "stage": is_("closed_won"), "amount_minor": match.int(TOTAL_MINOR),
    },
    ("billing", "invoice.finalized"): {**_INVOICE_DATA, "status": is_("open")},
    ("billing", "payment.succeeded"): {
        "id": match.str(PAYMENT), "invoice_id": match.str(INVOICE),
        "amount_minor": match.int(100_000), "currency": _CUR, "status": is_("succeeded"),
    },
    ("billing", "subscription.canceled"): {**_SUBSCRIPTION_DATA, "status": is_("canceled")},
    ("billing", "subscription.renewed"): {
        **_SUBSCRIPTION_DATA, "status": is_("active"),
        # The new term: its first period starts at the old term's end, term_months long.
        "current_period_start": match.regex(END, regex=_DATE), "term_months": match.int(12),
    },
}  # fmt: skip


def envelope(system: str, event_type: str) -> dict[str, Any]:
    """The event envelope of docs/events.md with this event's data, under matchers."""
    return {
        "id": match.regex(EVENT_ID.replace("crm", system), regex=rf"^evt_{system}_\d+$"),
        "type": event_type,
        "system": system,
        "occurred_at": match.regex(
            "2026-01-01T09:30:00.000000Z", regex=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
        ),
        "data": EVENT_DATA[(system, event_type)],
    }


def plain(value: Any) -> Any:
    """The example value of a body built with matchers (what a mock server would send)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, GenericMatcher):
        return plain(value.value)
    return value
