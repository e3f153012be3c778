"""The example deal the consumer pacts are written around, as plain values.

Every id here is also a provider-state parameter: the state creates the object with
this id (docs/provider-states.md), so the request paths and bodies a pact records are
valid on the simulator that verifies it.
"""

from __future__ import annotations

from lifecycle.systems import SYSTEMS

__all__ = [
    "ACCOUNT",
    "AR_INVOICE",
    "BILLING_CUSTOMER",
    "CONSUMER",
    "CURRENCY",
    "END",
    "ENTITLEMENT",
    "ERP_CUSTOMER",
    "INVOICE",
    "OPPORTUNITY",
    "ORDER",
    "ORGANIZATION",
    "PAYMENT",
    "PROVIDERS",
    "QUOTE",
    "RECEIPT",
    "RENEWED_END",
    "START",
    "SUBSCRIPTION",
    "TOTAL_MINOR",
]

CONSUMER = "golive-reference-middleware"
PROVIDERS: tuple[str, ...] = tuple(SYSTEMS)  # provider name = system name

OPPORTUNITY = "opp_00000000000000a1"
ACCOUNT = "acc_00000000000000a1"
QUOTE = "q_00000000000000a1"
ERP_CUSTOMER = "cust_00000000000000a1"
ORDER = "so_00000000000000a1"
BILLING_CUSTOMER = "cus_00000000000000a1"
SUBSCRIPTION = "sub_00000000000000a1"
ORGANIZATION = "org_00000000000000a1"
ENTITLEMENT = "ent_00000000000000a1"
INVOICE = "in_00000000000000a1"
PAYMENT = "pay_00000000000000a1"
AR_INVOICE = "inv_00000000000000a1"
RECEIPT = "rcpt_00000000000000a1"

CURRENCY = "USD"
TOTAL_MINOR = 1_200_000  # the accepted quote: 10 seats x 10,000 a month x 12 months

# Dates far ahead, so the examples the verifier replays stay valid (an entitlement must
# end after the simulator's today): a subscription from START for 12 months, renewed.
START = "2090-01-01"
END = "2091-01-01"
RENEWED_END = "2092-01-01"
