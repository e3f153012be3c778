"""Prefixed object ids (``acc_``, ``opp_``, ``inv_`` ...), drawn from a seeded generator.

A seeded ``IdFactory`` makes a simulator's ids reproducible run to run; 64 random
bits keep server ids from colliding with ids written by the data generator.
"""

from __future__ import annotations

import random

__all__ = ["PREFIXES", "IdFactory", "prefix_of"]

# Object type -> id prefix. One table, so the simulators, the data generator and
# the reconciliation oracle agree.
PREFIXES: dict[str, str] = {
    # CRM
    "account": "acc",
    "contact": "con",
    "opportunity": "opp",
    # CPQ
    "product": "prod",
    "price_book": "pb",
    "quote": "q",
    # billing
    "billing_customer": "cus",
    "subscription": "sub",
    "subscription_item": "si",
    "usage_record": "ur",
    "invoice": "in",
    "payment": "pay",
    "credit_note": "cn",
    # support
    "organization": "org",
    "entitlement": "ent",
    "case": "case",
    # ERP
    "erp_customer": "cust",
    "item": "item",
    "sales_order": "so",
    "ar_invoice": "inv",
    "receipt": "rcpt",
    "journal_entry": "je",
    "accounting_period": "per",
    # shared
    "event": "evt",
    "webhook_endpoint": "we",
}


def prefix_of(object_id: str) -> str:
    """The prefix of an id: ``prefix_of("acc_1f2e") == "acc"``."""
    return object_id.split("_", 1)[0]


class IdFactory:
    """Makes ids ``<prefix>_<16 hex digits>`` from a seeded random stream."""

    __slots__ = ("_rng", "_seed")

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rng = random.Random(seed)

    def reset(self) -> None:
        self._rng = random.Random(self._seed)

    def new(self, object_type: str) -> str:
        return f"{PREFIXES[object_type]}_{self._rng.getrandbits(64):016x}"
