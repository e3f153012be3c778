"""Canonical entities of the five systems, and the table from object type to model.

The tables import every system's models, so they are built on first use: a simulator
that imports only its own entities (``lifecycle.entities.crm``) starts without the
other four systems' models (``golive up``, docs/benchmarks.md target 7).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lifecycle.entities._base import Entity

if TYPE_CHECKING:
    from pydantic import BaseModel

    # system -> object type -> model. Object type names are the keys of
    # lifecycle.ids.PREFIXES and the names used by /_sim/seed, /_sim/export and the data
    # generator's files.
    SYSTEM_TYPES: dict[str, dict[str, type[Entity]]]
    ENTITY_TYPES: dict[str, type[Entity]]

__all__ = ["ENTITY_TYPES", "SYSTEM_TYPES", "Entity", "model_for"]

# system -> object type -> name of its model in lifecycle.entities.<system>
_MODEL_NAMES: dict[str, dict[str, str]] = {
    "crm": {"account": "Account", "contact": "Contact", "opportunity": "Opportunity"},
    "cpq": {"product": "Product", "price_book": "PriceBook", "quote": "Quote"},
    "billing": {
        "billing_customer": "BillingCustomer",
        "subscription": "Subscription",
        "usage_record": "UsageRecord",
        "invoice": "Invoice",
        "payment": "Payment",
        "credit_note": "CreditNote",
    },
    "support": {"organization": "Organization", "entitlement": "Entitlement", "case": "Case"},
    "erp": {
        "erp_customer": "ErpCustomer",
        "item": "Item",
        "sales_order": "SalesOrder",
        "ar_invoice": "ArInvoice",
        "receipt": "Receipt",
        "journal_entry": "JournalEntry",
        "accounting_period": "AccountingPeriod",
    },
}


def _system_types() -> dict[str, dict[str, type[Entity]]]:
    table = globals().get("SYSTEM_TYPES")
    if table is None:
        table = {}
        for system, names in _MODEL_NAMES.items():
            module = importlib.import_module(f"lifecycle.entities.{system}")
            table[system] = {kind: getattr(module, name) for kind, name in names.items()}
        globals()["SYSTEM_TYPES"] = table
    return table


def _entity_types() -> dict[str, type[Entity]]:
    table = globals().get("ENTITY_TYPES")
    if table is None:
        table = {name: model for types in _system_types().values() for name, model in types.items()}
        globals()["ENTITY_TYPES"] = table
    return table


def __getattr__(name: str) -> Any:
    if name == "SYSTEM_TYPES":
        return _system_types()
    if name == "ENTITY_TYPES":
        return _entity_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_for(object_type: str) -> type[BaseModel]:
    """The pydantic model of an object type (``model_for("quote")``)."""
    return _entity_types()[object_type]
