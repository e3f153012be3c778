"""The job engine: time order, the clock at each due instant, one transaction per run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from fastapi import APIRouter
from starlette.responses import Response

from simulators.kit.app import build_app
from simulators.kit.clock import format_instant, parse_instant
from simulators.kit.http import object_response
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime
from simulators.kit.scheduler import JobResult, JobSpec
from simulators.kit.state import Obj, SystemState
from simulators.kit.store import CollectionSpec
from simulators.kit.uow import InterleavedWrites, transaction
from simulators.testing import SimHarness, sim_client

pytestmark = pytest.mark.anyio

START = datetime(2030, 1, 1, tzinfo=UTC)


def _alarm_due(obj: Obj) -> float | None:
    return None if obj["rang"] else parse_instant(obj["ring_at"]).timestamp()


class AlarmState(SystemState):
    """Alarms ring at their time (one job); a gong sounds every 5 hours (another)."""

    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (
        CollectionSpec("account", indexed=("external_id",), derived={"ring": _alarm_due}),
    )
    JOBS: ClassVar[tuple[JobSpec, ...]] = (
        JobSpec("alarms", due="next_alarm", run="ring"),
        JobSpec("gong", due="next_gong", run="sound_gong"),
    )
    broken: ClassVar[set[str]] = set()
    stuck: ClassVar[bool] = False

    def next_alarm(self) -> float | None:
        due: float | None = self.col("account").lowest("ring")
        return due

    def ring(self, at: datetime) -> JobResult:
        rung = 0
        for alarm in self.col("account").upto("ring", at.timestamp()):
            if alarm["name"] in self.broken:
                self.emit("account.updated", self.update("account", alarm, {"half": True}))
                raise RuntimeError(f"{alarm['name']} is broken")
            self.emit("account.updated", self.update("account", alarm, {"rang": True}))
            rung += 1
        return JobResult(rung)

    def next_gong(self) -> float | None:
        if self.stuck:
            return START.timestamp() + 3600
        return START.timestamp() + 5 * 3600 * (self.store.counter("gongs") + 1)

    def sound_gong(self, at: datetime) -> int:
        self.store.next_number("gongs")
        self.rt.events.emit("account.created", {"id": "gong"}, self.now())
        return 1


def _app(state: AlarmState) -> Any:
    r = APIRouter(route_class=SimRoute)

    @r.post("/alarms/{name}", status_code=201)
    async def create(name: str, hours: float) -> Response:
        ring_at = format_instant(START + timedelta(hours=hours))
        alarm = state.new("account", {"name": name, "ring_at": ring_at, "rang": False})
        return object_response(alarm, 201)

    return build_app(state, r, title="alarms", description="")


@pytest.fixture
async def alarms():
    AlarmState.broken, AlarmState.stuck = set(), False
    state = AlarmState(Runtime("crm"))
    state.clock.freeze(START)
    async with sim_client("crm", app=_app(state)) as client:
        yield SimHarness(client)


async def _events(h: SimHarness) -> list[tuple[str, str]]:
    data = (await h.call("GET", "/events", 200, params={"limit": 1000}))["data"]
    return [(e["data"].get("name", e["data"]["id"]), e["occurred_at"][11:19]) for e in data]


async def test_jobs_run_in_time_order_with_the_clock_at_each_due_instant(alarms):
    for name, hours in (("b", 7.5), ("a", 2), ("c", 12)):
        await alarms.call("POST", f"/alarms/{name}", 201, params={"hours": hours})
    moved = await alarms.call("POST", "/_sim/clock/advance", 200, json={"seconds": 11 * 3600})
    assert await _events(alarms) == [("a", "02:00:00"), ("gong", "05:00:00"), ("b", "07:30:00"),
                    ("gong", "10:00:00")]  # fmt: skip
    assert moved["now"] == "2030-01-01T11:00:00.000000Z"
    assert moved["ran"]["runs"] == {"alarms": 2, "gong": 2}
    assert moved["ran"]["handled"] == {"alarms": 2, "gong": 2}
    assert (moved["next_due_at"], moved["next_job"]) == ("2030-01-01T12:00:00.000000Z", "alarms")
    clock = await alarms.call("GET", "/_sim/clock", 200)
    assert clock["next_due_at"] == "2030-01-01T12:00:00.000000Z"
    assert clock["activity"]["in_flight"] == 0
    assert clock["activity"]["pending_deliveries"] == 0


async def test_a_failing_job_is_reported_held_and_blocks_nothing_after_it(alarms):
    await alarms.call("POST", "/alarms/ok", 201, params={"hours": 1})
    await alarms.call("POST", "/alarms/bad", 201, params={"hours": 3})
    AlarmState.broken = {"bad"}
    moved = await alarms.call("POST", "/_sim/clock/advance", 200, json={"seconds": 24 * 3600})
    assert moved["now"] == "2030-01-02T00:00:00.000000Z"
    assert moved["ran"]["runs"] == {"alarms": 1, "gong": 4}
    [failure] = moved["ran"]["failures"]
    assert (failure["job"], failure["at"], failure["code"]) == (
        "alarms", "2030-01-01T03:00:00.000000Z", "RuntimeError",
    )  # fmt: skip
    # The failed run left nothing half-written; the gongs after it sounded.
    state = alarms.state
    bad = next(a for a in state.col("account") if a["name"] == "bad")
    assert "half" not in bad
    assert not bad["rang"]
    assert [n for n, _ in await _events(alarms)].count("gong") == 4
    assert moved["held_jobs"] == [{"job": "alarms", "due_at": "2030-01-01T03:00:00.000000Z",
                                   "reason": "failed: RuntimeError"}]  # fmt: skip
    metrics = (await alarms.c.get("/metrics")).text
    assert 'golive_job_failures_total{system="crm",kind="alarms"} 1' in metrics
    # Mended, the job runs again: its data (here, its code) no longer fails.
    AlarmState.broken = set()
    await alarms.call("POST", "/alarms/late", 201, params={"hours": 1})  # moves its due time
    moved = await alarms.call("POST", "/_sim/clock/advance", 200, json={"seconds": 60})
    assert moved["ran"]["runs"] == {"alarms": 1}
    assert moved["held_jobs"] == []


async def test_a_job_still_due_after_its_run_is_stopped_not_looped(alarms):
    AlarmState.stuck = True
    moved = await alarms.call("POST", "/_sim/clock/advance", 200, json={"seconds": 7200})
    assert moved["ran"]["runs"] == {"gong": 1}
    assert moved["ran"]["stalled"] == [{"job": "gong", "at": "2030-01-01T01:00:00.000000Z"}]
    assert moved["now"] == "2030-01-01T02:00:00.000000Z"
    assert moved["next_due_at"] is None


async def test_idempotency_keys_are_swept_24_hours_later_by_a_job(alarms):
    headers = {"Idempotency-Key": "k-1"}
    first = await alarms.call("POST", "/alarms/x", 201, params={"hours": 30}, headers=headers)
    assert len(alarms.state.rt.idempotency) == 1
    clock = await alarms.call("GET", "/_sim/clock", 200)
    assert (clock["next_due_at"], clock["next_job"]) == (
        "2030-01-01T05:00:00.000000Z", "gong")  # fmt: skip
    moved = await alarms.call("POST", "/_sim/clock/advance", 200, json={"seconds": 86_400})
    assert moved["ran"]["runs"]["idempotency_key_expiry"] == 1
    assert len(alarms.state.rt.idempotency) == 0
    again = await alarms.call("POST", "/alarms/x", 201, params={"hours": 30}, headers=headers)
    assert again["id"] != first["id"]


async def test_a_frozen_move_in_the_future_runs_the_jobs_on_the_way(alarms):
    await alarms.call("POST", "/alarms/a", 201, params={"hours": 2})
    moved = await alarms.call(
        "POST", "/_sim/clock/freeze", 200, json={"at": "2030-01-01T03:00:00Z"}
    )
    assert (moved["now"], moved["frozen"], moved["ran"]["runs"]) == (
        "2030-01-01T03:00:00.000000Z", True, {"alarms": 1})  # fmt: skip


def test_a_separate_transaction_inside_an_open_one_commits_on_its_own():
    state = AlarmState(Runtime("crm"))
    with transaction(state.rt) as outer:
        with transaction(state.rt, join=False) as inner:
            assert inner is not outer
            state.new("account", {"name": "kept", "ring_at": "2030-01-01T00:00:00Z",
                                  "rang": False})  # fmt: skip
        outer.rollback()
    assert [a["name"] for a in state.col("account")] == ["kept"]
    with transaction(state.rt):
        state.new("account", {"name": "first", "ring_at": "2030-01-01T00:00:00Z", "rang": True})
        with pytest.raises(InterleavedWrites), transaction(state.rt, join=False):
            state.new("account", {"name": "no", "ring_at": "2030-01-01T00:00:00Z", "rang": True})


def test_a_derived_index_follows_changes_and_rollbacks():
    state = AlarmState(Runtime("crm"))
    col = state.col("account")
    make = {"ring_at": "2030-01-01T05:00:00Z", "rang": False}
    a = state.new("account", {"name": "a", **make})
    state.new("account", {"name": "b", **make, "ring_at": "2030-01-01T03:00:00Z"})
    assert col.lowest("ring") == parse_instant("2030-01-01T03:00:00Z").timestamp()
    with transaction(state.rt) as unit:
        for alarm in list(col):
            state.update("account", alarm, {"rang": True})
        assert col.lowest("ring") is None
        unit.rollback()
    assert [x["name"] for x in col.upto("ring", START.timestamp() + 5 * 3600)] == ["b", "a"]
    state.update("account", a, {"ring_at": "2030-01-01T01:00:00Z"})
    assert [x["name"] for x in col.upto("ring", START.timestamp() + 4 * 3600)] == ["a", "b"]


async def test_a_move_to_a_due_instant_as_shown_runs_a_job_due_within_its_microsecond(alarms):
    # A key used while the clock stood between two microseconds expires there too; the
    # clock shows that instant rounded down, and a move to it must still run the job.
    alarms.state.clock._frozen_at = START.timestamp() + 3e-7
    await alarms.call(
        "POST", "/alarms/k", 201, params={"hours": 99}, headers={"Idempotency-Key": "k"}
    )
    AlarmState.stuck = False
    due = alarms.state.rt.idempotency.next_expiry()
    shown = format_instant(datetime.fromtimestamp(due, UTC))
    assert parse_instant(shown).timestamp() < due  # shown rounded down
    moved = await alarms.call("POST", "/_sim/clock/advance", 200, json={"to": shown})
    assert moved["ran"]["runs"]["idempotency_key_expiry"] == 1
