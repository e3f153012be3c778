"""The sales side of ``golive demo``: a catalogue, accounts and deals closed by sales reps.

The catalogue is the synthetic generator's products (``lifecycle.synth``), priced in USD
at their list price; every amount is a whole multiple of 400 minor units and every
discount a multiple of 5 %, so quote, order and subscription split exactly (README,
"golive demo"). Every choice comes from the ``random.Random`` the caller passes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from lifecycle.synth._catalog import PRODUCTS, ProductDef

__all__ = ["CATALOGUE", "Deal", "DemoFlowError", "close_deal", "seed_accounts", "seed_catalogue"]

# The per-unit products of the generator's catalogue (tiered and usage ones left out).
CATALOGUE: tuple[ProductDef, ...] = tuple(
    p for p in PRODUCTS if p.scheme.value == "per_unit" and p.billing_type.value != "usage"
)
_NAMES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Pied Piper",
    "Aperture",
    "Massive Dynamic",
    "Oscorp",
    "Monarch",
    "Dunder",
    "Prestige",
)
_SUFFIXES = ("Inc", "Ltd", "GmbH", "Labs", "Group", "Systems")


class DemoFlowError(RuntimeError):
    """A simulator refused a step of a sales rep's flow (the message names the call)."""


@dataclass
class Deal:
    """One deal a rep closed: ids, the quote's total and whether it needed an approval."""

    opportunity_id: str
    quote_id: str
    account_id: str
    account_name: str
    total_minor: int
    discount_bps: int
    approved_by: str | None
    closed_at: str


def _call(client: httpx.Client, method: str, path: str, **kw: Any) -> Any:
    response = client.request(method, path, **kw)
    if not response.is_success:
        raise DemoFlowError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


def seed_catalogue(cpq: httpx.Client, erp: httpx.Client) -> str:
    """The products in CPQ, the same SKUs as ERP items and a default USD price book."""
    for p in CATALOGUE:
        _call(
            cpq,
            "POST",
            "/products",
            json={
                "sku": p.sku,
                "name": p.name,
                "family": p.family,
                "billing_type": p.billing_type.value,
            },
        )
        _call(erp, "POST", "/items", json={"sku": p.sku, "name": p.name})
    book = _call(
        cpq,
        "POST",
        "/price-books",
        json={
            "name": "List USD",
            "currency": "USD",
            "is_default": True,
            "entries": [
                {"sku": p.sku, "scheme": "per_unit", "unit_amount_minor": p.usd_minor}
                for p in CATALOGUE
            ],
        },
    )
    return str(book["id"])


def seed_accounts(crm: httpx.Client, rng: random.Random, n: int) -> list[dict[str, Any]]:
    """``n`` US mid-market or enterprise accounts with distinct names."""
    names = rng.sample([f"{a} {s}" for a in _NAMES for s in _SUFFIXES], n)
    return [
        _call(
            crm,
            "POST",
            "/accounts",
            json={
                "name": name,
                "country": "US",
                "currency": "USD",
                "segment": rng.choice(("mid_market", "enterprise")),
                "website": f"https://{name.lower().replace(' ', '-')}.example.com",
            },
        )
        for name in names
    ]


def _lines(rng: random.Random) -> list[dict[str, Any]]:
    by_family: dict[str, list[ProductDef]] = {}
    for p in CATALOGUE:
        by_family.setdefault(p.family, []).append(p)
    seats = rng.randrange(5, 61)
    lines = [{"sku": "PLAT-STD", "quantity": seats}]
    for add_on in by_family.get("add_on", []):
        if rng.random() < 0.4:
            lines.append({"sku": add_on.sku, "quantity": seats})
    lines.append({"sku": rng.choice(by_family["support"]).sku, "quantity": 1})
    if rng.random() < 0.5:
        lines.append(
            {"sku": rng.choice(by_family["services"]).sku, "quantity": rng.randrange(1, 4)}
        )
    return lines


def close_deal(
    crm: httpx.Client,
    cpq: httpx.Client,
    book: str,
    account: dict[str, Any],
    rng: random.Random,
    closed_at: str,
) -> Deal:
    """Opportunity, quote with catalogue lines (CPQ prices it), submit (approve when the discount
    needs it), accept, move through the stages and close won with the quote as primary."""
    opp = _call(
        crm,
        "POST",
        "/opportunities",
        json={"account_id": account["id"], "name": f"{account['name']} platform"},
    )
    discount = rng.choice((0, 500, 1000, 1500, 2000, 2500))
    quote = _call(
        cpq,
        "POST",
        "/quotes",
        json={
            "price_book_id": book,
            "account_id": account["id"],
            "opportunity_id": opp["id"],
            "currency": "USD",
            "term_months": 12,
            "discount_bps": discount,
            "lines": _lines(rng),
        },
    )
    quote = _call(cpq, "GET", f"/quotes/{quote['id']}")  # priced by CPQ on creation
    quote = _call(cpq, "POST", f"/quotes/{quote['id']}/submit")
    approver = None
    if quote["status"] != "approved":
        approver = "vp-sales"
        quote = _call(cpq, "POST", f"/quotes/{quote['id']}/approve", json={"approver": approver})
    quote = _call(cpq, "POST", f"/quotes/{quote['id']}/accept")
    for stage in ("qualification", "proposal", "negotiation"):
        _call(crm, "PATCH", f"/opportunities/{opp['id']}", json={"stage": stage})
    _call(
        crm,
        "PATCH",
        f"/opportunities/{opp['id']}",
        json={
            "stage": "closed_won",
            "primary_quote_id": quote["id"],
            "amount_minor": quote["total_minor"],
        },
    )
    return Deal(
        opp["id"],
        quote["id"],
        account["id"],
        account["name"],
        quote["total_minor"],
        discount,
        approver,
        closed_at,
    )
