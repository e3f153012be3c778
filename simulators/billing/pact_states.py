"""The billing simulator's parametrised Pact provider states (docs/provider-states.md).

Functions of the state, so ``state.py`` keeps only the decorated entry points that
declare each state's name and params. Each makes its objects exist as the pact names
them (ids, external ids) and, for the message states, emits the event as the API
or the clock would: the verifier then reads it from the event feed.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from lifecycle.dates import add_months
from simulators.kit.state import Obj

if TYPE_CHECKING:
    from simulators.billing.state import BillingState

__all__ = [
    "canceled_subscription",
    "deal_subscription",
    "finalized_invoice",
    "linked_customer",
    "paid_invoice",
    "renewed_subscription",
]

_ITEMS = [{"sku": "PLAT-STD", "quantity": 10, "unit_amount_minor": 10_000, "usage_based": False}]


def linked_customer(
    state: BillingState, customer_id: str | None, external_id: str, currency: str
) -> Obj:
    """The customer linked to ``external_id`` (a CRM account)."""
    customers = state.col("billing_customer")
    customer = customers.find(customer_id) or (
        customers.first_by("external_id", external_id) if customer_id is None else None
    )
    if customer is None:
        customer_id = state._state_customer(id=customer_id, currency=currency)["customer_id"]
        customer = customers.get(customer_id)
    if customer["external_id"] != external_id:
        customer = state.update("billing_customer", customer, {"external_id": external_id})
    return {"customer_id": customer["id"]}


def deal_subscription(
    state: BillingState, subscription_id: str | None, external_id: str, customer_id: str | None
) -> Obj:
    """An active subscription of the customer for the deal ``external_id``."""
    subs = state.col("subscription")
    sub = subs.find(subscription_id) or (
        subs.first_by("external_id", external_id) if subscription_id is None else None
    )
    if sub is None:
        made = state._state_subscription(id=subscription_id, customer_id=customer_id)
        sub = subs.get(made["subscription_id"])
    if sub["external_id"] != external_id:
        sub = state.update("subscription", sub, {"external_id": external_id})
    return {"subscription_id": sub["id"], "customer_id": sub["customer_id"]}


def finalized_invoice(
    state: BillingState, invoice_id: str | None, subscription_id: str | None, external_id: str
) -> Obj:
    """The subscription's invoice for its current period, finalized: ``invoice.finalized``."""
    ids = deal_subscription(state, subscription_id, external_id, None)
    invoice = state.col("invoice").find(invoice_id)
    if invoice is None:
        sub = state.col("subscription").get(ids["subscription_id"])
        invoice = state.invoice_for_period(sub, sub["current_period_start"])
    if invoice is None:
        invoice = state.build_invoice(state.col("subscription").get(ids["subscription_id"]))
        if invoice_id is not None:
            invoice = state.with_id("invoice", invoice, invoice_id)
    if invoice["status"] == "draft":
        invoice = state.finalize_invoice(invoice["id"])
    return {**ids, "invoice_id": invoice["id"]}


def paid_invoice(
    state: BillingState, invoice_id: str | None, subscription_id: str | None, external_id: str
) -> Obj:
    """That invoice paid by the customer's card: ``payment.succeeded``."""
    ids = finalized_invoice(state, invoice_id, subscription_id, external_id)
    if state.col("invoice").get(ids["invoice_id"])["status"] == "open":
        state.pay_invoice(ids["invoice_id"])
    payments = [p for p in state.col("payment") if p["invoice_id"] == ids["invoice_id"]]
    succeeded = [p["id"] for p in payments if p["status"] == "succeeded"]
    return {**ids, "payment_id": succeeded[0] if succeeded else None}


def canceled_subscription(
    state: BillingState, subscription_id: str | None, external_id: str, customer_id: str | None
) -> Obj:
    """The deal's subscription canceled now: ``subscription.canceled``."""
    ids = deal_subscription(state, subscription_id, external_id, customer_id)
    if state.col("subscription").get(ids["subscription_id"])["status"] != "canceled":
        state.cancel_subscription(ids["subscription_id"], at_period_end=False)
    return ids


def renewed_subscription(
    state: BillingState, subscription_id: str | None, external_id: str, customer_id: str | None
) -> Obj:
    """A one-month-term subscription started a month ago, renewed by the invoice run:
    ``subscription.renewed`` (its first period billed and charged on the way)."""
    subs = state.col("subscription")
    sub = subs.find(subscription_id) or (
        subs.first_by("external_id", external_id) if subscription_id is None else None
    )
    if sub is None:
        customer = state._state_customer(id=customer_id)["customer_id"]
        start = add_months(date.fromisoformat(state.today()), -1)
        sub = state.create_subscription(
            {"customer_id": customer, "currency": None, "external_id": external_id,
             "quote_id": None, "term_months": 1, "start_date": start.isoformat(),
             "trial_days": 0, "items": [dict(item) for item in _ITEMS]}
        )  # fmt: skip
        if subscription_id is not None:
            sub = state.with_id("subscription", sub, subscription_id)
        state.run_invoice_cycle()
        sub = subs.get(sub["id"])
    return {"subscription_id": sub["id"], "customer_id": sub["customer_id"]}
