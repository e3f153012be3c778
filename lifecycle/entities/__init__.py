"""Canonical entities of the five systems, and the table from object type to model."""

from __future__ import annotations

from pydantic import BaseModel

from lifecycle.entities._base import Entity
from lifecycle.entities.billing import (
    BillingCustomer,
    CreditNote,
    Invoice,
    Payment,
    Subscription,
    UsageRecord,
)
from lifecycle.entities.cpq import PriceBook, Product, Quote
from lifecycle.entities.crm import Account, Contact, Opportunity
from lifecycle.entities.erp import (
    AccountingPeriod,
    ArInvoice,
    ErpCustomer,
    Item,
    JournalEntry,
    Receipt,
    SalesOrder,
)
from lifecycle.entities.support import Case, Entitlement, Organization

__all__ = ["ENTITY_TYPES", "SYSTEM_TYPES", "Entity", "model_for"]

# system -> object type -> model. Object type names are the keys of lifecycle.ids.PREFIXES
# and the names used by /_sim/seed, /_sim/export and the data generator's files.
SYSTEM_TYPES: dict[str, dict[str, type[Entity]]] = {
    "crm": {"account": Account, "contact": Contact, "opportunity": Opportunity},
    "cpq": {"product": Product, "price_book": PriceBook, "quote": Quote},
    "billing": {
        "billing_customer": BillingCustomer,
        "subscription": Subscription,
        "usage_record": UsageRecord,
        "invoice": Invoice,
        "payment": Payment,
        "credit_note": CreditNote,
    },
    "support": {"organization": Organization, "entitlement": Entitlement, "case": Case},
    "erp": {
        "erp_customer": ErpCustomer,
        "item": Item,
        "sales_order": SalesOrder,
        "ar_invoice": ArInvoice,
        "receipt": Receipt,
        "journal_entry": JournalEntry,
        "accounting_period": AccountingPeriod,
    },
}

ENTITY_TYPES: dict[str, type[Entity]] = {
    name: model for types in SYSTEM_TYPES.values() for name, model in types.items()
}


def model_for(object_type: str) -> type[BaseModel]:
    """The pydantic model of an object type (``model_for("quote")``)."""
    return ENTITY_TYPES[object_type]
