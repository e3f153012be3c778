"""What the load users need to know before they send anything: where each system is,
which client to sign in as, and the reference data they pick from (a folder written by
``golive data generate``, loaded into the target). Free of Locust, so it can be tested.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lifecycle.synth.folder import FolderProblem, check_folder
from lifecycle.systems import SYSTEMS
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = [
    "DATA_ENV",
    "SYSTEMS",
    "DataProblem",
    "LoadData",
    "client_credentials",
    "load_data",
    "system_urls",
]

Obj = dict[str, Any]
DEFAULT_BASE_PORT = 8101
DATA_ENV = "GOLIVE_LOAD_DATA"


class DataProblem(RuntimeError):
    """The load users cannot start: no data folder, or one missing what a flow needs."""


def system_urls(host: str | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Base URL per system: ``GOLIVE_<SYSTEM>_URL``, else derived from Locust's ``--host``.

    ``--host`` can carry one URL only: it names the CRM, and the other systems are taken
    to be the simulators on the ports after it (``golive up --base-port``'s layout).
    Without either, the local simulators on 127.0.0.1:8101..8105.
    """
    env = os.environ if env is None else env
    base: dict[str, str] = {}
    if host:
        parts = urlsplit(host.rstrip("/"))
        if parts.port is not None:
            base = {
                s: f"{parts.scheme}://{parts.hostname}:{parts.port + i}"
                for i, s in enumerate(SYSTEMS)
            }
        else:
            base = {"crm": host.rstrip("/")}
    urls: dict[str, str] = {}
    for i, system in enumerate(SYSTEMS):
        from_env = env.get(f"GOLIVE_{system.upper()}_URL")
        urls[system] = (
            from_env or base.get(system) or f"http://127.0.0.1:{DEFAULT_BASE_PORT + i}"
        ).rstrip("/")
    return urls


def client_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The OAuth client: ``GOLIVE_CLIENT_ID`` / ``GOLIVE_CLIENT_SECRET``, else the simulators'."""
    env = os.environ if env is None else env
    return (
        env.get("GOLIVE_CLIENT_ID", DEFAULT_CLIENT_ID),
        env.get("GOLIVE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
    )


def _read(folder: Path, fmt: str, object_type: str) -> list[Obj]:
    path = folder / f"{object_type}.{fmt}"
    if not path.exists():
        return []
    if fmt == "csv":
        rows: list[Obj] = []
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                rows.append({k: _cell(v) for k, v in row.items()})
        return rows
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _cell(value: str) -> Any:
    """CSV cells of ``golive data generate``: nested lists as JSON, true/false, ints."""
    if value == "":
        return None
    if value[0] in "[{" or value in ("true", "false"):
        return json.loads(value)
    if value.lstrip("-").isdigit():
        return int(value)
    return value


def _unit_price(entry: Obj) -> int:
    """A list price per unit from a price-book entry (the first tier of a tiered price)."""
    if entry.get("scheme") == "per_unit" or not entry.get("tiers"):
        return int(entry.get("unit_amount_minor") or 0)
    tier = entry["tiers"][0]
    return int(tier.get("unit_amount_minor") or 0) + int(tier.get("flat_amount_minor") or 0)


@dataclass
class LoadData:
    """The reference objects the flows pick from, indexed the way the flows use them."""

    accounts: list[Obj]
    price_books: dict[str, Obj]  # currency -> price book
    products: dict[str, Obj]  # product id -> product
    erp_customers: list[Obj]
    erp_skus: set[str]
    subscriptions: list[Obj]  # live, with a usage-based item
    billing_customers: list[Obj]
    organizations: list[Obj]
    usage_prices: dict[str, int] = field(default_factory=dict)  # usage sku -> USD unit price
    as_of: str | None = None

    # Picked from on every task: computed once, so the load generator spends its core on
    # requests rather than on filtering the data again.
    @cached_property
    def _quotable(self) -> list[Obj]:
        return [a for a in self.accounts if a.get("currency") in self.price_books]

    def quotable_accounts(self) -> list[Obj]:
        """Accounts whose currency has a price book (a quote takes its book's currency)."""
        return self._quotable

    @cached_property
    def _recurring(self) -> dict[str, list[Obj]]:
        return {
            currency: [
                e for e in book["entries"]
                if self.products.get(e["product_id"], {}).get("active", False)
                and self.products[e["product_id"]].get("billing_type") == "recurring"
            ]
            for currency, book in self.price_books.items()
        }  # fmt: skip

    def recurring_lines(self, currency: str, rng: random.Random, count: int) -> list[Obj]:
        """``count`` distinct priced, active, recurring products of a book: quote lines."""
        choices = self._recurring[currency]
        picked = rng.sample(choices, min(count, len(choices)))
        return [{"product_id": e["product_id"], "sku": e["sku"], "unit": _unit_price(e)}
                for e in picked]  # fmt: skip

    def order_lines(self, currency: str, rng: random.Random, budget_minor: int) -> list[Obj]:
        """ERP order lines for skus the ERP knows, priced from the book, within a budget."""
        book = self.price_books.get(currency) or next(iter(self.price_books.values()))
        entries = [e for e in book["entries"] if e["sku"] in self.erp_skus and _unit_price(e) > 0]
        if not entries:
            raise DataProblem("no ERP item has a price in the data's price books")
        lines = []
        for entry in rng.sample(entries, min(len(entries), rng.randint(1, 3))):
            price = _unit_price(entry)
            quantity = max(1, min(25, budget_minor // max(1, price * 3)))
            lines.append({"sku": entry["sku"], "quantity": int(quantity),
                          "unit_price_minor": price})  # fmt: skip
        return lines


def _current(sub: Obj, today: str) -> bool:
    start, end = sub.get("current_period_start") or "", sub.get("current_period_end") or ""
    return start <= today < end


def load_data(
    folder: str | Path | None = None, today: str | None = None,
    erp_entities: frozenset[str] | None = None,
) -> LoadData:  # fmt: skip
    """Read a ``golive data generate`` folder (NDJSON or CSV) for the flows.

    ``folder`` defaults to ``$GOLIVE_LOAD_DATA``. Subscriptions are kept when they are
    live, have a usage-based item and their current period holds ``today`` (UTC), since
    billing takes usage for the current period only. ERP customers are kept when their
    legal entity is one of ``erp_entities`` (default: the simulated ERP's; the ERP
    refuses orders for an entity it does not know) and they have credit room.
    """
    if erp_entities is None:
        from lifecycle.legal_entities import LEGAL_ENTITIES

        erp_entities = frozenset(LEGAL_ENTITIES)
    raw = folder or os.environ.get(DATA_ENV)
    if not raw:
        raise DataProblem(
            f"set {DATA_ENV} to a folder written by `golive data generate` and loaded into "
            "the target (`golive data load`), or run the test with `golive load`"
        )
    path = Path(raw)
    try:  # every listed file present, unchanged since generated, and parsing
        manifest = check_folder(path)
    except FolderProblem as exc:
        raise DataProblem(str(exc)) from None
    fmt = manifest.get("format", "ndjson")
    today = today or datetime.now(UTC).date().isoformat()
    products = {p["id"]: p for p in _read(path, fmt, "product")}
    books: dict[str, Obj] = {}
    for book in _read(path, fmt, "price_book"):
        # Prefer the currency's default book, as the CPQ does when no book is named.
        if book["currency"] not in books or book.get("is_default"):
            books[book["currency"]] = book
    exposure: dict[str, int] = {}
    for inv in _read(path, fmt, "ar_invoice"):
        if inv.get("status") == "open":
            exposure[inv["customer_id"]] = exposure.get(inv["customer_id"], 0) + int(
                inv.get("amount_due_minor") or 0
            )
    for order in _read(path, fmt, "sales_order"):
        if order.get("status") in ("pending_approval", "booked", "fulfilled"):
            exposure[order["customer_id"]] = exposure.get(order["customer_id"], 0) + int(
                order.get("total_minor") or 0
            )
    erp_customers = []
    for customer in _read(path, fmt, "erp_customer"):
        # The ERP refuses an order past the credit limit (open AR + open orders); keep
        # customers with room, and what room each has, so orders stay within it.
        room = int(customer.get("credit_limit_minor") or 0) - exposure.get(customer["id"], 0)
        if customer.get("legal_entity") not in erp_entities:
            continue
        if room > int(customer.get("credit_limit_minor") or 0) // 4:
            erp_customers.append({**customer, "credit_room_minor": room})
    usage_prices = {
        e["sku"]: _unit_price(e) for e in books.get("USD", {}).get("entries", [])
        if products.get(e["product_id"], {}).get("billing_type") == "usage"
    }  # fmt: skip
    subscriptions = [
        s for s in _read(path, fmt, "subscription")
        if s.get("status") in ("active", "trialing", "past_due")
        and any(i.get("usage_based") for i in s.get("items") or []) and _current(s, today)
    ]  # fmt: skip
    data = LoadData(
        accounts=_read(path, fmt, "account"),
        price_books=books,
        products=products,
        erp_customers=erp_customers,
        erp_skus={i["sku"] for i in _read(path, fmt, "item")},
        subscriptions=subscriptions,
        billing_customers=_read(path, fmt, "billing_customer"),
        organizations=_read(path, fmt, "organization"),
        usage_prices=usage_prices,
        as_of=manifest.get("parameters", {}).get("as_of"),
    )
    missing = [
        name for name, items in (("account", data.quotable_accounts()),
                                 ("price_book", data.price_books), ("erp_customer",
                                 data.erp_customers), ("item", data.erp_skus),
                                 ("organization", data.organizations))
        if not items
    ]  # fmt: skip
    if missing:
        raise DataProblem(f"{path} has no {', '.join(missing)}: generate more accounts")
    return data
