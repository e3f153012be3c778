"""A CPQ client fixture with a small catalogue: tiered, volume and per-unit products."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from simulators.testing import SimHarness, sim_client

# Graduated seats: 10 at 10.00, the next 40 at 8.00, the rest at 5.00 (per month).
SEAT_TIERS = [
    {"up_to": 10, "unit_amount_minor": 1_000},
    {"up_to": 50, "unit_amount_minor": 800},
    {"up_to": None, "unit_amount_minor": 500},
]
# Volume storage: every GB at the price of the tier the total falls in, plus that tier's flat fee.
STORAGE_TIERS = [
    {"up_to": 100, "unit_amount_minor": 50},
    {"up_to": 1_000, "unit_amount_minor": 40, "flat_amount_minor": 500},
    {"up_to": None, "unit_amount_minor": 30},
]


class Cpq(SimHarness):
    """An in-process CPQ simulator and shorthands for arranging it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        self.products: dict[str, dict[str, Any]] = {}
        self.book: dict[str, Any] = {}

    async def product(self, sku: str, billing_type: str = "recurring", **kw: Any) -> Any:
        body = {"sku": sku, "name": sku.title(), "family": "platform",
                "billing_type": billing_type, **kw}  # fmt: skip
        product = await self.call("POST", "/products", 201, json=body)
        self.products[sku] = product
        return product

    async def catalogue(self) -> dict[str, Any]:
        await self.product("SEATS", "recurring", unit="seat")
        await self.product("STORAGE", "usage", unit="gb")
        await self.product("ONBOARD", "one_time", family="services")
        self.book = await self.call(
            "POST",
            "/price-books",
            201,
            json={
                "name": "List USD", "currency": "USD", "is_default": True,
                "entries": [
                    {"sku": "SEATS", "scheme": "tiered", "tiers": SEAT_TIERS},
                    {"sku": "STORAGE", "scheme": "volume", "tiers": STORAGE_TIERS},
                    {"sku": "ONBOARD", "scheme": "per_unit", "unit_amount_minor": 150_000},
                ],
            },
        )  # fmt: skip
        return self.book

    async def quote(self, lines: list[dict[str, Any]], **kw: Any) -> Any:
        body = {"price_book_id": self.book["id"], "lines": lines, **kw}
        return await self.call("POST", "/quotes", 201, json=body)


@pytest.fixture
async def cpq():
    async with sim_client("cpq") as client:
        yield Cpq(client)
