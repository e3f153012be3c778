"""Billing's own error kind: a card error, answered with 402 as Stripe does."""

from __future__ import annotations

from simulators.kit.errors import SimError

__all__ = ["CardError"]


class CardError(SimError):
    """A card was declined (on attach or on a charge); ``code`` is the decline code.

    Stripe answers card errors with ``402 Request Failed`` and a ``decline_code``;
    the problem body's ``code`` carries it here (``card_declined``, ``expired_card`` …).
    """

    status = 402
