"""An ERP client fixture with shorthands for the objects most tests need."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.kit.runtime import SimConfig
from simulators.testing import SimHarness, sim_client


class Erp(SimHarness):
    """An in-process ERP simulator and shorthands for arranging it."""

    @property
    def today(self) -> str:
        return self.state.today()

    @property
    def this_period(self) -> str:
        return self.today[:7]

    async def customer(self, **fields: Any) -> dict[str, Any]:
        return await self.call("POST", "/customers", 201, json={"name": "Acme", **fields})

    async def item(self, sku: str = "PLAT-STD", **fields: Any) -> dict[str, Any]:
        return await self.call("POST", "/items", 201, json={"sku": sku, "name": sku, **fields})

    async def order(
        self,
        customer_id: str,
        unit_price_minor: int = 10_000,
        quantity: int = 1,
        sku: str = "PLAT-STD",
        **fields: Any,
    ) -> dict[str, Any]:
        lines = [{"sku": sku, "quantity": quantity, "unit_price_minor": unit_price_minor}]
        body = {"customer_id": customer_id, "lines": lines, **fields}
        return await self.call("POST", "/sales-orders", 201, json=body)

    async def act(self, order_id: str, *actions: str) -> dict[str, Any]:
        order: dict[str, Any] = {}
        for action in actions:
            order = await self.call("POST", f"/sales-orders/{order_id}/{action}", 200)
        return order

    async def invoice(self, customer_id: str, subtotal_minor: int, **fields: Any) -> dict[str, Any]:
        body = {"customer_id": customer_id, "subtotal_minor": subtotal_minor, **fields}
        return await self.call("POST", "/invoices", 201, json=body)

    async def receipt(
        self, customer_id: str, amount_minor: int, *applications: tuple[str, int], **fields: Any
    ) -> dict[str, Any]:
        body = {
            "customer_id": customer_id,
            "amount_minor": amount_minor,
            "applications": [{"ar_invoice_id": i, "amount_minor": a} for i, a in applications],
            **fields,
        }
        return await self.call("POST", "/receipts", 201, json=body)

    async def trial_balance(self, **params: Any) -> dict[str, Any]:
        return await self.call("GET", "/ledger/trial-balance", 200, params=params)

    async def balances(self, **params: Any) -> dict[str, int]:
        """Account -> debit minus credit, for a one-entity, one-currency ledger."""
        tb = await self.trial_balance(**params)
        assert tb["balanced"]
        return {row["account"]: row["balance_minor"] for row in tb["accounts"]}

    async def event_types(self) -> list[str]:
        body = await self.call("GET", "/events", 200, params={"limit": 1000})
        return [e["type"] for e in body["data"]]


@pytest.fixture
async def erp():
    async with sim_client("erp") as client:
        yield Erp(client)


@pytest.fixture
async def erp_without_unique_external_id():
    config = SimConfig(options={"enforce_unique_external_id": False})
    async with sim_client("erp", config) as client:
        yield Erp(client)
