"""Every lifecycle state machine of the five systems, declared as data in one place.

A machine is a table of allowed moves. The simulators refuse any other move
(409 ``invalid_transition``), the data generator only writes histories that are
paths through these tables, and the oracle checks recorded histories against them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "MACHINES",
    "CaseStatus",
    "EntitlementStatus",
    "InvalidTransition",
    "InvoiceStatus",
    "OpportunityStage",
    "QuoteStatus",
    "SalesOrderStatus",
    "StateMachine",
    "SubscriptionStatus",
    "machine",
]


class InvalidTransition(ValueError):
    """A move that the machine's table does not allow."""

    def __init__(self, machine: str, current: str, target: str) -> None:
        super().__init__(f"{machine} cannot move from {current!r} to {target!r}")
        self.machine = machine
        self.current = current
        self.target = target


@dataclass(frozen=True)
class StateMachine:
    """A named table of states, the initial ones, and the allowed moves."""

    name: str
    initial: frozenset[str]
    moves: Mapping[str, frozenset[str]]
    terminal: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        unknown = {t for targets in self.moves.values() for t in targets} - set(self.moves)
        if unknown:
            raise ValueError(f"{self.name}: moves to undeclared states {sorted(unknown)}")
        object.__setattr__(
            self, "terminal", frozenset(s for s, targets in self.moves.items() if not targets)
        )

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.moves)

    def can(self, current: str, target: str) -> bool:
        return target in self.moves.get(current, frozenset())

    def check(self, current: str, target: str) -> None:
        """Raise InvalidTransition unless ``current -> target`` is allowed."""
        if not self.can(current, target):
            raise InvalidTransition(self.name, current, target)

    def is_valid_path(self, states: Iterable[str]) -> bool:
        """True when ``states`` starts in an initial state and every step is allowed."""
        seq = list(states)
        if not seq or seq[0] not in self.initial:
            return False
        return all(self.can(a, b) for a, b in itertools.pairwise(seq))


def _machine(name: str, initial: Iterable[str], moves: Mapping[str, Iterable[str]]) -> StateMachine:
    return StateMachine(
        name=name,
        initial=frozenset(initial),
        moves={state: frozenset(targets) for state, targets in moves.items()},
    )


class OpportunityStage(StrEnum):
    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class EntitlementStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


class CaseStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"


class SalesOrderStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    BOOKED = "booked"
    FULFILLED = "fulfilled"
    INVOICED = "invoiced"
    CLOSED = "closed"
    CANCELLED = "cancelled"


_OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")

# Salesforce lets an open opportunity move between open stages in either direction
# and close from any of them; a closed opportunity never moves again.
OPPORTUNITY = _machine(
    "opportunity",
    initial=["prospecting", "qualification"],
    moves={
        **{s: [o for o in _OPEN_STAGES if o != s] + ["closed_won", "closed_lost"]
           for s in _OPEN_STAGES},
        "closed_won": [],
        "closed_lost": [],
    },
)  # fmt: skip

# Submitting a quote whose discounts need no approval passes in_review -> approved
# at once (two moves, two events); otherwise it waits for an approver.
QUOTE = _machine(
    "quote",
    initial=["draft"],
    moves={
        "draft": ["in_review", "expired"],
        "in_review": ["approved", "rejected", "draft", "expired"],
        "approved": ["accepted", "rejected", "expired"],
        "accepted": [],
        "rejected": [],
        "expired": [],
    },
)

# Stripe's subscription statuses and the moves its billing engine makes.
SUBSCRIPTION = _machine(
    "subscription",
    initial=["trialing", "active"],
    moves={
        "trialing": ["active", "past_due", "canceled"],
        "active": ["past_due", "canceled"],
        "past_due": ["active", "unpaid", "canceled"],
        "unpaid": ["active", "canceled"],
        "canceled": [],
    },
)

# Stripe's invoice statuses: an uncollectible invoice can still be paid or voided.
INVOICE = _machine(
    "invoice",
    initial=["draft"],
    moves={
        "draft": ["open", "void"],
        "open": ["paid", "void", "uncollectible"],
        "uncollectible": ["paid", "void"],
        "paid": [],
        "void": [],
    },
)

# As a Salesforce entitlement's status follows its dates, moving the end date of an
# expired one past today renews it (support's PATCH); nothing else revives it.
ENTITLEMENT = _machine(
    "entitlement",
    initial=["active", "suspended"],
    moves={
        "active": ["suspended", "expired"],
        "suspended": ["active", "expired"],
        "expired": ["active"],
    },
)

# Zendesk's ticket statuses: solved can be reopened until the ticket closes.
CASE = _machine(
    "case",
    initial=["new"],
    moves={
        "new": ["open", "pending", "solved"],
        "open": ["pending", "solved"],
        "pending": ["open", "solved"],
        "solved": ["open", "closed"],
        "closed": [],
    },
)

SALES_ORDER = _machine(
    "sales_order",
    initial=["pending_approval"],
    moves={
        "pending_approval": ["booked", "cancelled"],
        "booked": ["fulfilled", "cancelled"],
        "fulfilled": ["invoiced"],
        "invoiced": ["closed"],
        "closed": [],
        "cancelled": [],
    },
)

AR_INVOICE = _machine(
    "ar_invoice",
    initial=["open"],
    moves={"open": ["paid", "void"], "paid": [], "void": []},
)

# A closed period can be reopened by a controller (NetSuite's "reopen period").
ACCOUNTING_PERIOD = _machine(
    "accounting_period",
    initial=["open"],
    moves={"open": ["closed"], "closed": ["open"]},
)

MACHINES: dict[str, StateMachine] = {
    m.name: m
    for m in (
        OPPORTUNITY, QUOTE, SUBSCRIPTION, INVOICE, ENTITLEMENT, CASE, SALES_ORDER, AR_INVOICE,
        ACCOUNTING_PERIOD,
    )
}  # fmt: skip


def machine(name: str) -> StateMachine:
    """The machine for an object type (``machine("quote")``)."""
    return MACHINES[name]
