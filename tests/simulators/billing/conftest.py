"""A billing client fixture with shorthands for the objects most tests need."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from simulators.kit.runtime import SimConfig
from simulators.testing import SimHarness, sim_client

# A fixed month for tests that bill: 31 January anchors the clamping cases.
START = "2026-01-31"
IN_PERIOD = "2026-02-10T12:00:00Z"
# The instant the simulator clock is frozen at, so dunning dates are exact.
NOW = datetime(2030, 6, 1, 9, 0, tzinfo=UTC)


class Billing(SimHarness):
    """An in-process billing simulator and shorthands for arranging it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        self.state.clock.freeze(NOW)

    async def customer(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Acme", "email": "ap@acme.test", "payment_method": "4242424242424242"}
        return await self.call("POST", "/customers", 201, json={**body, **fields})

    async def subscription(
        self, customer_id: str, *items: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        items = items or (
            {"sku": "PLAT-PRO", "quantity": 3, "unit_amount_minor": 10_000},
            {"sku": "API-CALLS", "unit_amount_minor": 5, "usage_based": True, "quantity": 0},
        )
        body = {"customer_id": customer_id, "items": list(items), "start_date": START, **fields}
        return await self.call("POST", "/subscriptions", 201, json=body)

    async def usage(
        self, sub: dict[str, Any], quantity: int, timestamp: str = IN_PERIOD, item: int = 1
    ) -> dict[str, Any]:
        body = {
            "subscription_item_id": sub["items"][item]["id"],
            "quantity": quantity,
            "timestamp": timestamp,
        }
        return await self.call("POST", f"/subscriptions/{sub['id']}/usage-records", 201, json=body)

    async def invoice(self, sub_id: str, **fields: Any) -> dict[str, Any]:
        return await self.call("POST", f"/subscriptions/{sub_id}/invoices", 201, json=fields)

    async def open_invoice(self, sub_id: str, **fields: Any) -> dict[str, Any]:
        invoice = await self.invoice(sub_id, **fields)
        return await self.call("POST", f"/invoices/{invoice['id']}/finalize", 200)

    async def get(self, url: str) -> Any:
        return await self.call("GET", url, 200)

    async def event_types(self) -> list[str]:
        body = await self.call("GET", "/events", 200, params={"limit": 1000})
        return [e["type"] for e in body["data"]]


@pytest.fixture
async def billing():
    async with sim_client("billing") as client:
        yield Billing(client)


@pytest.fixture
async def billing_cancel_on_failure():
    config = SimConfig(options={"dunning_final_action": "canceled"})
    async with sim_client("billing", config) as client:
        yield Billing(client)
