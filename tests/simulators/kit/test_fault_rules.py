"""``/_sim/faults`` in process: rules refused and kept, matching, window, count, seeds."""

from __future__ import annotations

import pytest

from simulators.kit.runtime import SimConfig
from simulators.testing import sim_client

pytestmark = pytest.mark.anyio

BOOM = {"kind": "error", "params": {"status": 500, "code": "boom"}}


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


async def test_a_rule_is_added_listed_and_removed_by_id():
    async with sim_client("crm") as c:
        r = await c.post("/_sim/faults", json={**BOOM, "match": {"path": "/accounts"}})
        assert r.status_code == 201
        rule = r.json()
        assert rule["id"].startswith("flt_")
        assert rule["fired"] == 0
        assert rule["active"] is True
        listed = (await c.get("/_sim/faults")).json()["data"]
        assert [x["id"] for x in listed] == [rule["id"]]
        assert (await c.delete(f"/_sim/faults/{rule['id']}")).json() == {"removed": 1}
        _problem(await c.delete(f"/_sim/faults/{rule['id']}"), 404, "fault_not_found")
        assert (await c.get("/_sim/faults")).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "outage", "params": {"retry_after": 5}}, "params.retry_after"),
        ({"kind": "nope"}, "kind"),
        ({"kind": "error", "probability": 1.5}, "probability"),
        ({"kind": "error", "count": 0}, "count"),
        ({"kind": "error", "match": {"path": "orders"}}, "match.path"),
        ({"kind": "error", "match": {"colour": "red"}}, "match.colour"),
        ({"kind": "latency", "params": {"p50_ms": 10}}, "params.p99_ms"),
        ({"kind": "error", "window": {"start": "2026-01-01T00:00:00"}}, "window.start"),
    ],
)
async def test_a_bad_rule_is_refused_with_problem_json_naming_the_field(body, field):
    async with sim_client("crm") as c:
        problem = _problem(await c.post("/_sim/faults", json=body), 422, "invalid_fault_rule")
        assert problem["errors"][0]["field"] == field, problem
        assert problem["detail"].startswith(field)
        assert (await c.get("/_sim/faults")).json()["data"] == []


@pytest.mark.parametrize("kind", ["duplicate", "reorder", "delay", "webhook_down"])
async def test_event_kinds_are_taken_and_never_touch_a_request(kind):
    async with sim_client("erp") as c:
        added = await c.post("/_sim/faults", json={"kind": kind})
        assert added.status_code == 201, added.text
        r = await c.get("/sales-orders")
        assert r.status_code == 200
        assert "x-golive-fault" not in r.headers
        assert (await c.get("/_sim/faults")).json()["data"][0]["fired"] == 0


async def test_reset_clears_the_rules():
    async with sim_client("crm") as c:
        await c.post("/_sim/faults", json=BOOM)
        assert (await c.get("/accounts")).status_code == 500
        await c.post("/_sim/reset")
        assert (await c.get("/_sim/faults")).json()["data"] == []
        assert (await c.get("/accounts")).status_code == 200


async def test_without_the_engine_a_rule_is_refused_rather_than_never_firing():
    async with sim_client("crm", SimConfig(fault_engine=False)) as c:
        _problem(await c.post("/_sim/faults", json=BOOM), 409, "fault_engine_off")


async def test_the_control_plane_and_metrics_are_never_faulted():
    async with sim_client("crm") as c:
        await c.post("/_sim/faults", json={"kind": "outage"})
        assert (await c.get("/accounts")).status_code == 503
        assert (await c.get("/_sim/faults")).status_code == 200
        assert (await c.get("/metrics")).status_code == 200
        assert (await c.delete("/_sim/faults")).json() == {"removed": 1}
        assert (await c.get("/accounts")).status_code == 200


async def test_paths_match_route_templates_and_globs_and_methods():
    async with sim_client("crm") as c:
        account = (await c.post("/accounts", json={"name": "A"})).json()["id"]
        await c.post("/_sim/faults", json={**BOOM, "match": {"path": "/accounts/{id}"}})
        assert (await c.get(f"/accounts/{account}")).status_code == 500
        assert (await c.get("/accounts")).status_code == 200
        assert (await c.get(f"/accounts/{account}/subsidiaries")).status_code == 200
        await c.delete("/_sim/faults")
        await c.post("/_sim/faults", json={**BOOM, "match": {"path": "/accounts/**",
                                                             "method": "get"}})  # fmt: skip
        assert (await c.get(f"/accounts/{account}/subsidiaries")).status_code == 500
        assert (await c.get("/accounts")).status_code == 200
        patched = await c.patch(f"/accounts/{account}", json={"name": "B"})
        assert patched.status_code == 200


async def test_a_rule_for_one_client_leaves_the_others_alone():
    async with sim_client("crm") as c:
        await c.post("/_sim/faults", json={**BOOM, "match": {"client_id": "someone-else"}})
        assert (await c.get("/accounts")).status_code == 200
        await c.post("/_sim/faults", json={**BOOM, "match": {"client_id": "golive"}})
        assert (await c.get("/accounts")).status_code == 500


async def test_a_rule_fires_at_most_count_times():
    async with sim_client("crm") as c:
        rule = (await c.post("/_sim/faults", json={**BOOM, "count": 2})).json()
        statuses = [(await c.get("/accounts")).status_code for _ in range(4)]
        assert statuses == [500, 500, 200, 200]
        [listed] = (await c.get("/_sim/faults")).json()["data"]
        assert listed["id"] == rule["id"]
        assert (listed["fired"], listed["active"]) == (2, False)


async def test_a_window_is_simulated_time_and_moving_the_clock_opens_and_closes_it():
    async with sim_client("crm") as c:
        await c.post("/_sim/clock/freeze", json={"at": "2030-01-01T00:00:00Z"})
        window = {"start": "2030-01-01T01:00:00Z", "end": "2030-01-01T02:00:00Z"}
        await c.post("/_sim/faults", json={"kind": "outage", "window": window})
        assert (await c.get("/accounts")).status_code == 200
        await c.post("/_sim/clock/advance", json={"seconds": 3600})
        r = await c.get("/accounts")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "3600"  # until the window ends
        await c.post("/_sim/clock/advance", json={"seconds": 1800})
        assert (await c.get("/accounts")).headers["retry-after"] == "1800"
        await c.post("/_sim/clock/advance", json={"seconds": 1800})
        assert (await c.get("/accounts")).status_code == 200


async def test_a_window_given_as_a_duration_starts_on_the_simulator_clock():
    async with sim_client("crm") as c:
        await c.post("/_sim/clock/freeze", json={"at": "2030-01-01T00:00:00Z"})
        body = {"kind": "outage", "window": {"duration_s": 60}}
        rule = (await c.post("/_sim/faults", json=body)).json()
        assert rule["window"] == {"start": "2030-01-01T00:00:00.000000Z",
                                  "end": "2030-01-01T00:01:00.000000Z"}  # fmt: skip
        assert (await c.get("/accounts")).status_code == 503
        await c.post("/_sim/clock/advance", json={"seconds": 60})
        assert (await c.get("/accounts")).status_code == 200


async def _fired_pattern(seed: int, rule_seed: int | None = None) -> list[int]:
    async with sim_client("crm", SimConfig(seed=seed)) as c:
        body = {**BOOM, "probability": 0.5}
        if rule_seed is not None:
            body["seed"] = rule_seed
        await c.post("/_sim/faults", json=body)
        return [(await c.get("/accounts")).status_code for _ in range(40)]


async def test_probability_draws_from_a_seeded_generator():
    first = await _fired_pattern(seed=7)
    assert first == await _fired_pattern(seed=7)
    assert 5 < first.count(500) < 35
    assert first != await _fired_pattern(seed=8)
    assert await _fired_pattern(seed=1, rule_seed=99) == await _fired_pattern(2, rule_seed=99)


async def test_the_journal_marks_the_rule_that_fired_and_metrics_count_by_kind():
    async with sim_client("crm") as c:
        rule = (await c.post("/_sim/faults", json={**BOOM, "count": 1})).json()
        await c.get("/accounts", headers={"X-Correlation-Id": "cid-1"})
        await c.get("/accounts")
        entries = (await c.get("/_sim/journal", params={"path": "/accounts"})).json()["data"]
        assert [(e["status"], e["fault"]) for e in entries] == [(500, rule["id"]), (200, None)]
        assert entries[0]["client_id"] == "golive"
        assert entries[0]["correlation_id"] == "cid-1"
        metrics = (await c.get("/metrics")).text
        assert 'golive_faults_fired_total{system="crm",kind="error"} 1' in metrics
        assert 'route="/accounts",status="500"} 1' in metrics


async def test_in_process_a_drop_reaches_the_client_as_an_exception_not_a_response():
    from simulators.kit.faults import ConnectionDropped

    async with sim_client("crm") as c:
        await c.post("/_sim/faults", json={"kind": "drop", "count": 1})
        with pytest.raises(ConnectionDropped):
            await c.get("/accounts")
        assert (await c.get("/accounts")).status_code == 200
