from __future__ import annotations

import pytest

from simulators.testing import sim_client

pytestmark = pytest.mark.anyio


async def _account(c, **fields):
    r = await c.post("/accounts", json={"name": "Acme", **fields})
    assert r.status_code == 201, r.text
    return r.json()


async def _opportunity(c, account_id, **fields):
    r = await c.post("/opportunities", json={"account_id": account_id, "name": "Deal", **fields})
    assert r.status_code == 201, r.text
    return r.json()


async def test_opportunity_moves_through_pipeline_to_closed_won_with_events():
    async with sim_client("crm") as c:
        account = await _account(c, currency="EUR")
        opp = await _opportunity(c, account["id"], amount_minor=1_200_00)
        assert opp["currency"] == "EUR"
        for stage in ("qualification", "proposal", "negotiation"):
            r = await c.patch(f"/opportunities/{opp['id']}", json={"stage": stage})
            assert r.status_code == 200, r.text
        r = await c.patch(
            f"/opportunities/{opp['id']}", json={"stage": "closed_won", "primary_quote_id": "q_1"}
        )
        assert r.status_code == 200
        won = r.json()
        assert won["stage"] == "closed_won"
        assert won["probability"] == 100
        assert won["closed_at"] is not None
        assert [h["stage"] for h in won["stage_history"]] == [
            "prospecting", "qualification", "proposal", "negotiation", "closed_won",
        ]  # fmt: skip
        events = (await c.get("/events")).json()["data"]
        assert events[-1]["type"] == "opportunity.closed_won"
        assert events[-1]["data"]["id"] == opp["id"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [({}, "amount_required"), ({"amount_minor": 500}, "primary_quote_required")],
)
async def test_close_won_without_amount_or_primary_quote_is_refused(fields, code):
    async with sim_client("crm") as c:
        account = await _account(c)
        opp = await _opportunity(c, account["id"], **fields)
        r = await c.patch(f"/opportunities/{opp['id']}", json={"stage": "closed_won"})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code


@pytest.mark.parametrize("change", [{"stage": "negotiation"}, {"name": "renamed"}])
async def test_closed_opportunity_cannot_move_or_change(change):
    async with sim_client("crm") as c:
        account = await _account(c)
        opp = await _opportunity(c, account["id"])
        r = await c.patch(f"/opportunities/{opp['id']}", json={"stage": "closed_lost"})
        assert r.status_code == 200
        r = await c.patch(f"/opportunities/{opp['id']}", json=change)
        assert r.status_code == 409
        assert r.json()["code"] in {"invalid_transition", "opportunity_closed"}


async def test_opportunity_for_unknown_account_is_refused():
    async with sim_client("crm") as c:
        r = await c.post("/opportunities", json={"account_id": "acc_nope", "name": "x"})
        assert r.status_code == 422
        assert r.json()["code"] == "unknown_account"


async def test_account_hierarchy_refuses_a_cycle():
    async with sim_client("crm") as c:
        parent = await _account(c)
        child = await _account(c, parent_id=parent["id"])
        subs = (await c.get(f"/accounts/{parent['id']}/subsidiaries")).json()["data"]
        assert [s["id"] for s in subs] == [child["id"]]
        r = await c.patch(f"/accounts/{parent['id']}", json={"parent_id": child["id"]})
        assert r.status_code == 422
        assert r.json()["code"] == "hierarchy_cycle"


async def test_stale_if_match_gets_412_and_current_etag_succeeds():
    async with sim_client("crm") as c:
        account = await _account(c)
        r = await c.patch(
            f"/accounts/{account['id']}", json={"name": "B"}, headers={"If-Match": '"1"'}
        )
        assert r.status_code == 200
        assert r.headers["etag"] == '"2"'
        r = await c.patch(
            f"/accounts/{account['id']}", json={"name": "C"}, headers={"If-Match": '"1"'}
        )
        assert r.status_code == 412
        assert r.json()["code"] == "precondition_failed"
