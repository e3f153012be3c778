from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter
from starlette.responses import Response

from simulators.estate import running_estate
from simulators.kit.app import build_app
from simulators.kit.http import json_response
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime
from simulators.kit.state import SystemState
from simulators.kit.store import CollectionSpec
from simulators.testing import sim_client, state_of

pytestmark = pytest.mark.anyio


async def test_retry_with_same_key_and_body_replays_the_first_response():
    async with sim_client("crm") as c:
        headers = {"Idempotency-Key": "k-1"}
        first = await c.post("/accounts", json={"name": "Acme"}, headers=headers)
        again = await c.post("/accounts", json={"name": "Acme"}, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert again.json() == first.json()
        assert len(state_of(c.app).col("account")) == 1


async def test_same_key_with_another_body_is_refused_with_422():
    async with sim_client("crm") as c:
        headers = {"Idempotency-Key": "k-2"}
        await c.post("/accounts", json={"name": "Acme"}, headers=headers)
        other = await c.post("/accounts", json={"name": "Other"}, headers=headers)
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert len(state_of(c.app).col("account")) == 1


async def test_keys_are_scoped_to_the_client():
    async with sim_client("crm") as c:
        state_of(c.app).rt.tokens.clients["other"] = "other-secret"
        token = (
            await c.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "other",
                      "client_secret": "other-secret"},
            )
        ).json()["access_token"]  # fmt: skip
        await c.post("/accounts", json={"name": "A"}, headers={"Idempotency-Key": "shared"})
        r = await c.post(
            "/accounts",
            json={"name": "B"},
            headers={"Idempotency-Key": "shared", "Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201
        assert len(state_of(c.app).col("account")) == 2


async def test_keys_expire_after_24_hours_of_simulator_time():
    async with sim_client("crm") as c:
        headers = {"Idempotency-Key": "k-exp"}
        await c.post("/accounts", json={"name": "A"}, headers=headers)
        clock = state_of(c.app).rt.clock
        clock.advance(24 * 3600 + 1)
        r = await c.post("/accounts", json={"name": "A"}, headers=headers)
        assert r.status_code == 201
        assert "idempotent-replayed" not in r.headers
        assert len(state_of(c.app).col("account")) == 2


async def test_refused_requests_are_replayed_but_server_errors_are_not_saved():
    async with sim_client("crm") as c:
        headers = {"Idempotency-Key": "k-4"}
        bad = {"account_id": "acc_missing", "name": "x"}
        first = await c.post("/opportunities", json=bad, headers=headers)
        again = await c.post("/opportunities", json=bad, headers=headers)
        assert first.status_code == again.status_code == 422
        assert again.headers["idempotent-replayed"] == "true"


async def test_overlong_key_is_a_422_not_a_500():
    async with sim_client("crm") as c:
        r = await c.post("/accounts", json={"name": "A"}, headers={"Idempotency-Key": "k" * 256})
        assert r.status_code == 422
        assert r.json()["code"] == "invalid_idempotency_key"


@pytest.mark.parametrize(
    "key", ["clé-1".encode(), b"k 1", b"k\t1", "\u00e9".encode("latin-1"), b"k\x7f"]
)
async def test_a_key_not_of_visible_ascii_is_refused_like_other_malformed_keys(key):
    async with sim_client("crm") as c:
        r = await c.post("/accounts", json={"name": "A"}, headers=[("Idempotency-Key", key)])
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid_idempotency_key"
        assert r.json()["errors"][0]["field"] == "Idempotency-Key"
        assert (await c.get("/accounts")).json()["data"] == []


class _SlowState(SystemState):
    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (CollectionSpec("account"),)


async def test_retry_while_first_is_in_flight_gets_409_in_progress():
    state = _SlowState(Runtime("crm"))
    release = asyncio.Event()
    router = APIRouter(route_class=SimRoute)

    @router.post("/slow", status_code=201)
    async def slow() -> Response:
        await release.wait()
        return json_response({"id": state.new("account", {"name": "slow"})["id"]}, 201)

    app = build_app(state, router, title="t", description="t")
    async with sim_client("crm", app=app) as c:
        headers = {"Idempotency-Key": "k-slow"}
        first = asyncio.create_task(c.post("/slow", json={}, headers=headers))
        while not len(state.rt.idempotency):
            await asyncio.sleep(0)
        second = await c.post("/slow", json={}, headers=headers)
        assert second.status_code == 409
        assert second.json()["code"] == "idempotency_in_progress"
        assert second.headers["retry-after"] == "1"
        release.set()
        assert (await first).status_code == 201
        third = await c.post("/slow", json={}, headers=headers)
        assert third.headers["idempotent-replayed"] == "true"
        assert len(state.col("account")) == 1


@pytest.mark.live
def test_concurrent_requests_on_the_wire_with_one_key_create_exactly_one_object():
    with running_estate(["crm"]) as estate:
        url, token = estate.url("crm"), estate.token("crm")

        def post(_: int) -> httpx.Response:
            return httpx.post(
                f"{url}/accounts",
                json={"name": "Race Inc"},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "race"},
                timeout=10,
            )

        with ThreadPoolExecutor(max_workers=16) as pool:
            responses = list(pool.map(post, range(32)))
        statuses = {r.status_code for r in responses}
        assert statuses <= {201, 409}
        created = [r for r in responses if r.status_code == 201]
        assert created
        assert len({r.json()["id"] for r in created}) == 1
        assert sum(1 for r in created if "idempotent-replayed" not in r.headers) == 1
        with estate.client("crm") as client:
            assert len(client.get("/accounts").json()["data"]) == 1


# Only requests that started executing are saved (Stripe): a refused envelope or body
# leaves the key free for the corrected request.


@pytest.mark.parametrize(
    ("bad", "status"),
    [
        ({"json": {"name": ""}}, 422),
        ({"json": {"nom": "Acme"}}, 422),
        ({"content": b'{"name": "Acme"', "headers": {"Content-Type": "application/json"}}, 422),
        ({"content": b'{"name": "Acme"}', "headers": {"Content-Type": "text/plain"}}, 415),
    ],
    ids=["invalid-field", "missing-field", "malformed-json", "wrong-media-type"],
)
async def test_a_request_refused_before_it_ran_does_not_use_up_the_key(bad, status):
    async with sim_client("crm") as c:
        key = {"Idempotency-Key": "k-fixed"}
        headers = {**key, **bad.pop("headers", {})}
        first = await c.post("/accounts", headers=headers, **bad)
        assert first.status_code == status, first.text
        fixed = await c.post("/accounts", json={"name": "Acme"}, headers=key)
        assert fixed.status_code == 201, fixed.text
        assert "idempotent-replayed" not in fixed.headers
        again = await c.post("/accounts", json={"name": "Acme"}, headers=key)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == fixed.json()
        assert len(state_of(c.app).col("account")) == 1


async def test_a_stale_if_match_does_not_use_up_the_key():
    async with sim_client("crm") as c:
        acc = (await c.post("/accounts", json={"name": "A"})).json()
        await c.patch(f"/accounts/{acc['id']}", json={"name": "B"})
        key = {"Idempotency-Key": "k-patch"}
        stale = await c.patch(
            f"/accounts/{acc['id']}", json={"name": "C"}, headers={**key, "If-Match": '"1"'}
        )
        assert stale.status_code == 412
        fresh = await c.patch(
            f"/accounts/{acc['id']}", json={"name": "C"}, headers={**key, "If-Match": '"2"'}
        )
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["name"] == "C"


async def test_the_same_json_written_differently_is_the_same_request():
    async with sim_client("crm") as c:
        key = {"Idempotency-Key": "k-json", "Content-Type": "application/json"}
        first = await c.post("/accounts", content=b'{"name":"A","segment":"smb"}', headers=key)
        assert first.status_code == 201, first.text
        for spelling in (
            b'{"name": "A", "segment": "smb"}',
            b'{"segment":"smb","name":"A"}',
            b'\n{ "name" : "\\u0041", "segment" : "smb" }\n',
        ):
            again = await c.post("/accounts", content=spelling, headers=key)
            assert again.status_code == 201, (spelling, again.text)
            assert again.headers["idempotent-replayed"] == "true"
        other = await c.post("/accounts", content=b'{"name":"B","segment":"smb"}', headers=key)
        assert other.json()["code"] == "idempotency_key_reused"
        assert len(state_of(c.app).col("account")) == 1
