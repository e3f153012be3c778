"""Billing rules as data: Stripe's test cards, the dunning schedule, monthly period arithmetic.

Kept apart from ``state.py`` so a scenario (or a reviewer) can read every outcome
the simulator will produce without reading the code that applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lifecycle.dates import add_months

__all__ = [
    "BILLING_FAILED",
    "DUNNING_FINAL_ACTIONS",
    "DUNNING_RETRY_DAYS",
    "PAYMENT_METHOD_ALIASES",
    "TEST_CARDS",
    "CardOutcome",
    "add_months",
    "next_period_end",
    "resolve_card",
]


@dataclass(frozen=True, slots=True)
class CardOutcome:
    """One of Stripe's test-mode card numbers and what it does.

    ``attach_error`` is the code Stripe gives when the card is saved on a customer
    (Stripe runs a card check on attach); ``charge_error`` the code of every charge.
    """

    number: str
    brand: str
    attach_error: str | None = None
    charge_error: str | None = None


# Stripe's documented test cards (https://docs.stripe.com/testing). Outcomes are
# deterministic, as in Stripe's test mode: the same card always gives the same result.
TEST_CARDS: dict[str, CardOutcome] = {
    c.number: c
    for c in (
        CardOutcome("4242424242424242", "visa"),
        CardOutcome("4000056655665556", "visa_debit"),
        CardOutcome("5555555555554444", "mastercard"),
        CardOutcome("2223003122003222", "mastercard"),
        CardOutcome("378282246310005", "amex"),
        CardOutcome("6011111111111117", "discover"),
        # Declines: refused when attached to a customer and on every charge.
        CardOutcome("4000000000000002", "visa", "card_declined", "card_declined"),
        CardOutcome("4000000000009995", "visa", "insufficient_funds", "insufficient_funds"),
        CardOutcome("4000000000009987", "visa", "lost_card", "lost_card"),
        CardOutcome("4000000000009979", "visa", "stolen_card", "stolen_card"),
        CardOutcome("4000000000000069", "visa", "expired_card", "expired_card"),
        CardOutcome("4000000000000127", "visa", "incorrect_cvc", "incorrect_cvc"),
        CardOutcome("4000000000000119", "visa", "processing_error", "processing_error"),
        # Radar blocks it as fraudulent on every charge ("always blocked").
        CardOutcome("4100000000000019", "visa", "fraudulent", "fraudulent"),
        # Attaches to a customer, then every charge fails: Stripe's card for dunning tests.
        CardOutcome("4000000000000341", "visa", None, "card_declined"),
    )
}

# Stripe's test PaymentMethod ids stand for the card numbers above.
PAYMENT_METHOD_ALIASES: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
}


def resolve_card(payment_method: str) -> CardOutcome | None:
    """The test card a payment method (number or ``pm_card_…`` id) stands for, if any."""
    return TEST_CARDS.get(PAYMENT_METHOD_ALIASES.get(payment_method, payment_method))


# Days after a failed attempt until the next retry, one entry per retry, as in
# Stripe's custom retry schedule ("retry 3 days after the previous attempt, then
# 5, then 7"). Overridden by the ``dunning_retry_days`` option.
DUNNING_RETRY_DAYS: tuple[int, ...] = (3, 5, 7)

# What happens to the subscription when the last retry fails (Stripe's "subscription
# status" setting under "Manage failed payments"): mark it unpaid, or cancel it.
DUNNING_FINAL_ACTIONS: tuple[str, ...] = ("unpaid", "canceled")


# The flag an invoice run puts on a subscription whose period it could not bill (its
# total past the money bound): the run skips it until its items change.
BILLING_FAILED = "billing_failed"


def next_period_end(anchor: date, period_end: date) -> date:
    """The end of the period that starts at ``period_end``, on the anchor's day of month.

    Periods are counted from the billing-cycle anchor, not chained, so a subscription
    anchored on 31 January bills on 28 February and then on 31 March (Stripe's
    ``billing_cycle_anchor`` behaviour) instead of drifting to the 28th.
    """
    months = (period_end.year - anchor.year) * 12 + period_end.month - anchor.month
    return add_months(anchor, months + 1)
