"""A support client fixture with shorthands for organizations, entitlements and cases."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.kit.clock import parse_instant
from simulators.testing import SimHarness, sim_client


class Support(SimHarness):
    """An in-process support simulator on a frozen clock, and shorthands for arranging it."""

    async def advance(self, minutes: float) -> None:
        await self.call("POST", "/_sim/clock/advance", 200, json={"seconds": minutes * 60})

    async def org(self, name: str = "Acme", **kw: Any) -> Any:
        return await self.call("POST", "/organizations", 201, json={"name": name, **kw})

    async def entitlement(self, org_id: str, tier: str = "standard", **kw: Any) -> Any:
        body = {"organization_id": org_id, "sku": "SUP", "support_tier": tier, **kw}
        return await self.call("POST", "/entitlements", 201, json=body)

    async def case(self, org_id: str, priority: str = "normal", **kw: Any) -> Any:
        body = {"organization_id": org_id, "subject": "Broken", "priority": priority, **kw}
        return await self.call("POST", "/cases", 201, json=body)

    async def reply(self, case_id: str, role: str = "agent", public: bool = True) -> Any:
        body = {"author": role, "author_role": role, "body": "hello", "public": public}
        return await self.call("POST", f"/cases/{case_id}/comments", 201, json=body)

    async def event_types(self, object_id: str | None = None) -> list[str]:
        events = (await self.call("GET", "/events", 200, params={"limit": 1000}))["data"]
        return [e["type"] for e in events if object_id is None or e["data"]["id"] == object_id]


def minutes_between(start: str, end: str) -> float:
    return (parse_instant(end) - parse_instant(start)).total_seconds() / 60


@pytest.fixture
async def support():
    async with sim_client("support") as client:
        sup = Support(client)
        await sup.call("POST", "/_sim/clock/freeze", 200, json={})
        yield sup
