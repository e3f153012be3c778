from __future__ import annotations

import json

import pytest

from lifecycle.entities import model_for
from simulators.registry import SYSTEMS
from simulators.testing import sim_client

pytestmark = pytest.mark.anyio

ACCOUNT = {
    "id": "acc_seeded0000000001", "external_id": "ext-1", "version": 3,
    "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-02T00:00:00.000000Z",
    "correlation_id": None, "name": "Seeded", "parent_id": None, "segment": "enterprise",
    "region": "emea", "country": "DE", "currency": "EUR", "industry": None, "website": None,
    "owner": None,
}  # fmt: skip


@pytest.mark.parametrize("system", SYSTEMS)
async def test_health_reports_system_status_version_and_clock(system):
    async with sim_client(system) as c:
        body = (await c.get("/_sim/health")).json()
        assert body["system"] == system
        assert body["status"] == "ok"
        assert set(body["clock"]) == {"now", "frozen"}


async def test_seed_keeps_objects_as_given_and_export_returns_them():
    async with sim_client("crm") as c:
        r = await c.post("/_sim/seed", json={"objects": {"account": [ACCOUNT]}})
        assert r.status_code == 200
        assert r.json() == {"loaded": {"account": 1}}
        got = (await c.get(f"/accounts/{ACCOUNT['id']}")).json()
        assert got == ACCOUNT
        export = (await c.get("/_sim/export")).json()
        assert export["objects"]["account"] == [ACCOUNT]
        model_for("account").model_validate(export["objects"]["account"][0])


async def test_seed_accepts_ndjson_lines():
    async with sim_client("crm") as c:
        line = json.dumps({"object_type": "account", "object": ACCOUNT})
        r = await c.post(
            "/_sim/seed", content=line + "\n", headers={"Content-Type": "application/x-ndjson"}
        )
        assert r.status_code == 200
        assert r.json() == {"loaded": {"account": 1}}


async def test_seed_refuses_a_bad_batch_whole_and_names_the_object():
    async with sim_client("crm") as c:
        bad = {**ACCOUNT, "id": "acc_bad", "segment": "galactic"}
        r = await c.post("/_sim/seed", json={"objects": {"account": [ACCOUNT, bad]}})
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "seed_rejected"
        assert body["errors"][0]["id"] == "acc_bad"
        assert body["errors"][0]["index"] == 1
        assert body["errors"][0]["field"] == "segment"
        assert (await c.get("/accounts")).json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [{"objects": {"invoice": []}}, {"objects": []}, {"nothing": 1}],
)
async def test_seed_refuses_unknown_types_and_wrong_shapes(body):
    async with sim_client("crm") as c:
        r = await c.post("/_sim/seed", json=body)
        assert r.status_code == 422


async def test_seed_refuses_an_id_that_exists():
    async with sim_client("crm") as c:
        await c.post("/_sim/seed", json={"objects": {"account": [ACCOUNT]}})
        r = await c.post("/_sim/seed", json={"objects": {"account": [ACCOUNT]}})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "id"


async def test_reset_empties_state_events_journal_and_keys():
    async with sim_client("crm") as c:
        await c.post("/accounts", json={"name": "A"}, headers={"Idempotency-Key": "k"})
        assert (await c.post("/_sim/reset")).status_code == 200
        assert (await c.get("/accounts")).json()["data"] == []
        assert (await c.get("/events")).json()["data"] == []
        r = await c.post("/accounts", json={"name": "A"}, headers={"Idempotency-Key": "k"})
        assert "idempotent-replayed" not in r.headers
        journal = (await c.get("/_sim/journal")).json()["data"]
        assert [e["path"] for e in journal if e["method"] == "POST"] == ["/_sim/reset", "/accounts"]


async def test_clock_freezes_advances_and_refuses_to_go_back():
    async with sim_client("crm") as c:
        r = await c.post("/_sim/clock/freeze", json={"at": "2030-03-01T12:00:00Z"})
        assert (r.json()["now"], r.json()["frozen"]) == ("2030-03-01T12:00:00.000000Z", True)
        r = await c.post("/_sim/clock/advance", json={"seconds": 86400})
        assert r.json()["now"] == "2030-03-02T12:00:00.000000Z"
        r = await c.post("/_sim/clock/advance", json={"to": "2030-01-01T00:00:00Z"})
        assert r.status_code == 422
        r = await c.post("/_sim/clock/advance", json={})
        assert r.status_code == 422
        created = (await c.post("/accounts", json={"name": "A"})).json()
        assert created["created_at"] == "2030-03-02T12:00:00.000000Z"


async def test_provider_state_sets_up_named_objects_and_unknown_state_is_404():
    async with sim_client("crm") as c:
        r = await c.post(
            "/_sim/provider-states",
            json={"state": "an account exists", "params": {"id": "acc_pact"}, "action": "setup"},
        )
        assert r.status_code == 200
        assert (await c.get("/accounts/acc_pact")).status_code == 200
        r = await c.post("/_sim/provider-states", json={"state": "no such state"})
        assert r.status_code == 404
        assert r.json()["code"] == "unknown_provider_state"
        r = await c.post(
            "/_sim/provider-states",
            json={"state": "an account exists", "params": {"bogus": 1}},
        )
        assert r.status_code == 422


async def test_admin_token_guards_the_control_plane_when_configured():
    from simulators.kit.runtime import SimConfig

    async with sim_client("crm", SimConfig(admin_token="s3cret")) as c:
        refused = await c.post("/_sim/reset")
        assert refused.status_code == 403
        # A loopback simulator started with GOLIVE_SIM_ADMIN_TOKEN: the reason given
        # must hold for it too, not claim it is bound beyond loopback.
        assert refused.json()["code"] == "admin_token_required"
        assert refused.json()["detail"] == (
            "this simulator's control plane needs X-Sim-Admin-Token (it is bound beyond "
            "loopback or was started with GOLIVE_SIM_ADMIN_TOKEN)"
        )
        r = await c.post("/_sim/reset", headers={"X-Sim-Admin-Token": "s3cret"})
        assert r.status_code == 200
