"""/metrics labels every request with its route template, also those refused before routing."""

from __future__ import annotations

import pytest

from simulators.testing import sim_client

pytestmark = pytest.mark.anyio


def _count(text: str, method: str, route: str, status: int) -> int:
    prefix = f'golive_requests_total{{system="crm",method="{method}",route="{route}",'
    for line in text.splitlines():
        if line.startswith(prefix + f'status="{status}"}}'):
            return int(line.rsplit(" ", 1)[1])
    return 0


async def test_401s_and_replays_are_labelled_with_their_route():
    async with sim_client("crm") as c:
        acc = (await c.post("/accounts", json={"name": "A"})).json()
        key = {"Idempotency-Key": "k-metrics"}
        await c.post("/accounts", json={"name": "B"}, headers=key)
        await c.post("/accounts", json={"name": "B"}, headers=key)
        await c.get(f"/accounts/{acc['id']}", headers={"Authorization": "Bearer nope"})
        await c.get("/accounts/acc_x/subsidiaries", headers={"Authorization": "Bearer nope"})
        await c.get("/no/such/path")
        text = (await c.get("/metrics")).text
        assert _count(text, "POST", "/accounts", 201) == 3
        assert _count(text, "GET", "/accounts/{account_id}", 401) == 1
        assert _count(text, "GET", "/accounts/{account_id}/subsidiaries", 401) == 1
        assert _count(text, "GET", "(unmatched)", 404) == 1
        assert 'route="(unmatched)",status="401"' not in text
        assert 'route="(unmatched)",status="201"' not in text


async def test_requests_refused_by_the_envelope_are_labelled_with_their_route():
    async with sim_client("crm") as c:
        await c.post("/accounts", content=b"x", headers={"Content-Type": "text/plain"})
        await c.post("/_sim/reset", headers={"Origin": "http://evil.example"})
        text = (await c.get("/metrics")).text
        assert _count(text, "POST", "/accounts", 415) == 1
        assert _count(text, "POST", "/_sim/reset", 403) == 1


async def test_resolving_routes_keeps_no_long_paths_in_memory():
    from simulators.kit.middleware import SimMiddleware

    async with sim_client("crm") as c:
        nobody = {"Authorization": "Bearer nope"}
        for i in range(20):
            await c.get(f"/accounts/{i}{'x' * 20_000}", headers=nobody)
        layer = c.app.middleware_stack
        while not isinstance(layer, SimMiddleware):
            layer = layer.app
        assert sum(len(path) for _, path in layer._templates) < 20_000
        text = (await c.get("/metrics")).text
        assert _count(text, "GET", "/accounts/{account_id}", 401) == 20
