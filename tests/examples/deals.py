"""A tiny catalogue and a sales rep closing deals through CRM and CPQ, for the middleware tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from simulators.estate import Estate

# sku, billing type, unit price (USD minor); prices keep every amount exact.
CATALOGUE = [
    ("PLAT-STD", "recurring", 4_000),
    ("SUP-PRM", "recurring", 80_000),
    ("SVC-ONB", "one_time", 400_000),
]


def call(client: httpx.Client, method: str, path: str, **kw: Any) -> Any:
    response = client.request(method, path, **kw)
    assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def seed_catalogue(estate: Estate) -> str:
    """Products and a default USD price book in CPQ, the same SKUs as ERP items; the book id."""
    with estate.client("cpq") as cpq, estate.client("erp") as erp:
        for sku, billing_type, _ in CATALOGUE:
            family = {"SUP": "support", "SVC": "services"}.get(sku[:3], "platform")
            call(cpq, "POST", "/products", json={"sku": sku, "name": sku, "family": family,
                                                 "billing_type": billing_type})  # fmt: skip
            call(erp, "POST", "/items", json={"sku": sku, "name": sku})
        book = call(cpq, "POST", "/price-books", json={
            "name": "List USD", "currency": "USD", "is_default": True,
            "entries": [{"sku": sku, "scheme": "per_unit", "unit_amount_minor": price}
                        for sku, _, price in CATALOGUE]})  # fmt: skip
    return str(book["id"])


def close_deal(
    estate: Estate, book: str, account: dict[str, Any] | None = None, seats: int = 10,
    discount_bps: int = 1000, close: bool = True, won: dict[str, Any] | None = None,
    term_months: int = 12,
) -> dict[str, Any]:  # fmt: skip
    """An opportunity won with an accepted quote (10 % header discount): the won opportunity,
    its quote and account. ``close=False`` stops before closing; ``won=`` closes that one."""
    with estate.client("crm") as crm, estate.client("cpq") as cpq:
        if won is not None:
            opp, quote = won["opportunity"], won["quote"]
            opp = call(crm, "PATCH", f"/opportunities/{opp['id']}",
                       json={"stage": "closed_won", "primary_quote_id": quote["id"],
                             "amount_minor": quote["total_minor"]})  # fmt: skip
            return {**won, "opportunity": opp}
        if account is None:
            account = call(crm, "POST", "/accounts", json={
                "name": "Acme", "country": "US", "currency": "USD",
                "website": "https://acme.example.com"})  # fmt: skip
        opp = call(crm, "POST", "/opportunities", json={"account_id": account["id"],
                                                       "name": "Acme platform"})  # fmt: skip
        quote = call(cpq, "POST", "/quotes", json={
            "price_book_id": book, "account_id": account["id"], "opportunity_id": opp["id"],
            "currency": "USD", "term_months": term_months, "discount_bps": discount_bps,
            "lines": [{"sku": "PLAT-STD", "quantity": seats}, {"sku": "SUP-PRM", "quantity": 1},
                      {"sku": "SVC-ONB", "quantity": 1}]})  # fmt: skip
        quote = call(cpq, "POST", f"/quotes/{quote['id']}/submit")
        if quote["status"] != "approved":
            quote = call(cpq, "POST", f"/quotes/{quote['id']}/approve", json={"approver": "vp"})
        quote = call(cpq, "POST", f"/quotes/{quote['id']}/accept")
        for stage in ("qualification", "proposal", "negotiation"):
            call(crm, "PATCH", f"/opportunities/{opp['id']}", json={"stage": stage})
        if not close:
            return {"opportunity": opp, "quote": quote, "account": account}
        opp = call(crm, "PATCH", f"/opportunities/{opp['id']}",
                   json={"stage": "closed_won", "primary_quote_id": quote["id"],
                         "amount_minor": quote["total_minor"]})  # fmt: skip
    return {"opportunity": opp, "quote": quote, "account": account}


def invoice_before_close(estate: Estate, deal: dict[str, Any]) -> dict[str, Any]:
    """A billing customer, a subscription at the deal's quote and its invoice, finalized,
    for a deal not closed yet: the invoice's event comes before any order."""
    with estate.client("billing") as billing:
        customer = call(billing, "POST", "/customers", json={
            "name": "Acme", "email": "billing@acme.example.com", "currency": "USD",
            "payment_method": "4242424242424242"})  # fmt: skip
        sub = call(billing, "POST", "/subscriptions", json={
            "customer_id": customer["id"], "term_months": 12, "quote_id": deal["quote"]["id"],
            "items": [{"sku": "PLAT-STD", "quantity": 10, "unit_amount_minor": 3600}]})  # fmt: skip
        inv = call(billing, "POST", f"/subscriptions/{sub['id']}/invoices")
        finalized: dict[str, Any] = call(billing, "POST", f"/invoices/{inv['id']}/finalize")
    return finalized


def listing(estate: Estate, system: str, path: str, **params: Any) -> list[dict[str, Any]]:
    with estate.client(system) as client:
        page = call(client, "GET", path, params={"limit": 100, **params})
    return list(page["data"])


def wait_for(check: Callable[[], Any], timeout_s: float = 15, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)
