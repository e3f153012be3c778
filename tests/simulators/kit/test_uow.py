"""The unit of work: all or nothing per request, events at the commit, the key before the answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import APIRouter
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import Response

from simulators.kit.app import build_app
from simulators.kit.errors import Conflict
from simulators.kit.http import object_response
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime
from simulators.kit.state import SystemState
from simulators.kit.store import CollectionSpec
from simulators.kit.uow import (
    READ_ONLY,
    InterleavedWrites,
    ReadsNeverWrite,
    UnitOfWork,
    enter,
    leave,
    transaction,
)
from simulators.testing import SimHarness, sim_client

pytestmark = pytest.mark.anyio


class WidgetState(SystemState):
    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (
        CollectionSpec("account", indexed=("external_id", "name"), unique=("name",)),
    )

    def make(self, name: str) -> dict[str, Any]:
        widget = self.new("account", {"name": name})
        self.store.next_number("widgets")
        self.emit("account.created", widget)
        return widget


def _app(state: WidgetState, gate: asyncio.Event | None = None, reached: Any = None) -> Any:
    r = APIRouter(route_class=SimRoute)

    @r.post("/widgets", status_code=201)
    async def create() -> Response:
        return object_response(state.make(f"plain-{state.rt.ids.position}"), 201)

    @r.post("/widgets/refused")
    async def refused() -> Response:
        state.make("refused")
        raise Conflict("widget_refused", "refused after a write")

    @r.post("/widgets/declined")
    async def declined() -> Response:
        state.make("declined")
        raise Conflict("widget_declined", "refused, and the attempt is kept", commits=True)

    @r.post("/widgets/broken")
    async def broken() -> Response:
        state.make("broken")
        raise RuntimeError("a bug after the first write")

    @r.post("/widgets/slow", status_code=201)
    async def slow() -> Response:
        first = state.make("first")
        assert gate is not None
        reached.set()
        await gate.wait()  # no shipped rule awaits between writes; this one does on purpose
        state.make("second")
        return object_response(first, 201)

    @r.get("/widgets/counted")
    async def counted() -> Response:
        return object_response(state.make("read"))

    return build_app(state, r, title="widgets", description="")


def _snapshot(state: SystemState) -> Any:
    rt = state.rt
    return (
        state.export(),
        [c._order[:] for c in state.store.collections.values()],
        [json.dumps(c._indexes, sort_keys=True) for c in state.store.collections.values()],
        state.store._counters.copy(),
        rt.events.all(),
        rt.ids.position,
        len(rt.idempotency),
    )


@pytest.fixture
async def widgets():
    state = WidgetState(Runtime("crm"))
    gate, reached = asyncio.Event(), asyncio.Event()
    async with sim_client("crm", app=_app(state, gate, reached)) as client:
        h = SimHarness(client)
        h.gate, h.reached = gate, reached  # type: ignore[attr-defined]
        yield h


# -- requests -------------------------------------------------------------------------------


async def test_a_write_commits_its_object_event_counter_and_id_together(widgets):
    before = widgets.state.rt.ids.position
    created = await widgets.call("POST", "/widgets", 201)
    events = (await widgets.call("GET", "/events", 200))["data"]
    assert [(e["id"], e["data"]["id"]) for e in events] == [("evt_crm_000000000001", created["id"])]
    assert widgets.state.store.counter("widgets") == 1
    assert widgets.state.rt.ids.position == before + 1
    assert widgets.state.rt.writer is None


@pytest.mark.parametrize("key", [None, "refused-1"])
async def test_a_refusal_after_a_write_leaves_nothing_behind(widgets, key):
    await widgets.call("POST", "/widgets", 201)
    before = _snapshot(widgets.state)
    headers = {"Idempotency-Key": key} if key else {}
    await widgets.refused("POST", "/widgets/refused", 409, "widget_refused", headers=headers)
    after = _snapshot(widgets.state)
    if key:
        # As at Stripe, the refusal itself is the key's saved answer: that is all it keeps.
        assert after[-1] == before[-1] + 1
        replay = await widgets.c.post("/widgets/refused", headers=headers)
        assert (replay.status_code, replay.headers["idempotent-replayed"]) == (409, "true")
        after = (*_snapshot(widgets.state)[:-1], before[-1])
    assert after == before
    assert widgets.state.rt.writer is None


async def test_a_refusal_that_commits_keeps_what_it_wrote(widgets):
    await widgets.refused("POST", "/widgets/declined", 409, "widget_declined")
    exported = widgets.state.export()["account"]
    assert [w["name"] for w in exported] == ["declined"]
    assert [e["type"] for e in widgets.state.rt.events.all()] == ["account.created"]


async def test_an_exception_after_a_write_rolls_back_and_answers_a_problem_500(widgets, caplog):
    before = _snapshot(widgets.state)
    response = await widgets.c.post("/widgets/broken", headers={"Idempotency-Key": "b-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
    assert _snapshot(widgets.state) == before  # no object, event, counter, id or key
    assert "a bug after the first write" in caplog.text
    # The key was not saved: the retry runs again (and fails again).
    again = await widgets.c.post("/widgets/broken", headers={"Idempotency-Key": "b-1"})
    assert "idempotent-replayed" not in again.headers


async def test_a_rule_that_writes_then_fails_is_rolled_back_whole(widgets, monkeypatch):
    state = widgets.state

    def emit_fails(event_type: str, obj: dict[str, Any]) -> None:
        raise RuntimeError("injected after the first write")

    monkeypatch.setattr(state, "emit", emit_fails)
    before = _snapshot(state)
    response = await widgets.c.post("/widgets")
    assert (response.status_code, response.json()["code"]) == (500, "internal_error")
    assert _snapshot(state) == before


async def test_events_of_a_transaction_in_flight_are_not_on_the_feed(widgets):
    slow = asyncio.create_task(widgets.c.post("/widgets/slow"))
    await widgets.reached.wait()
    assert (await widgets.call("GET", "/events", 200))["data"] == []
    assert widgets.state.rt.events.all() == []
    widgets.gate.set()
    assert (await slow).status_code == 201
    events = (await widgets.call("GET", "/events", 200))["data"]
    assert [e["data"]["name"] for e in events] == ["first", "second"]
    assert [e["id"] for e in events] == ["evt_crm_000000000001", "evt_crm_000000000002"]


async def test_a_write_while_another_transaction_is_uncommitted_is_refused_not_interleaved(
    widgets,
):
    slow = asyncio.create_task(widgets.c.post("/widgets/slow"))
    await widgets.reached.wait()
    clash = await widgets.c.post("/widgets")
    assert clash.status_code == 500
    widgets.gate.set()
    assert (await slow).status_code == 201
    assert [w["name"] for w in widgets.state.export()["account"]] == ["first", "second"]
    assert len(widgets.state.rt.events) == 2


async def test_a_read_that_writes_is_a_500_and_changes_nothing(widgets):
    before = _snapshot(widgets.state)
    response = await widgets.c.get("/widgets/counted")
    assert (response.status_code, response.json()["code"]) == (500, "internal_error")
    assert _snapshot(widgets.state) == before


async def test_reads_change_nothing(widgets):
    await widgets.call("POST", "/widgets", 201)
    before = _snapshot(widgets.state)
    for path in ("/events", "/_sim/export", "/_sim/journal", "/_sim/health", "/metrics"):
        assert (await widgets.c.get(path)).status_code == 200
    assert _snapshot(widgets.state) == before


async def test_the_key_is_saved_and_the_events_are_out_before_the_response_starts(widgets):
    """A client that holds the answer finds the key done: it retries into a replay."""
    app, rt = widgets.c.app, widgets.state.rt
    token = widgets.c.headers["Authorization"].encode()
    seen: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            saved = rt.idempotency.lookup("golive", "k-1", rt.clock.timestamp())
            seen.append((message["status"], saved is not None and not saved.in_flight,
                         len(rt.events), rt.writer))  # fmt: skip

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/widgets", "raw_path": b"/widgets", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("crm.test", 80),
        "headers": [(b"host", b"crm.test"), (b"authorization", token),
                    (b"idempotency-key", b"k-1"), (b"content-length", b"0")],
    }  # fmt: skip
    await app(scope, receive, send)
    assert seen == [(201, True, 1, None)]


def test_a_retry_after_the_answer_arrives_is_a_replay_on_the_wire(wire):
    state = WidgetState(Runtime("crm"))
    with wire.serving(_app(state)) as url:
        auth = {"Authorization": f"Bearer {wire.token_for(url)}"}
        for n in range(20):
            headers = {**auth, "Idempotency-Key": f"wire-{n}"}
            with httpx.Client() as first, httpx.Client() as second:
                created = first.post(f"{url}/widgets", headers=headers)
                retried = second.post(f"{url}/widgets", headers=headers)
            assert created.status_code == 201
            assert (retried.status_code, retried.headers.get("idempotent-replayed")) == (
                201,
                "true",
            )
            assert retried.json() == created.json()
    assert len(state.export()["account"]) == 20


async def test_control_plane_writes_are_transactions(widgets, monkeypatch):
    await widgets.call("POST", "/widgets", 201)
    before = _snapshot(widgets.state)
    clock_before = widgets.state.clock.state()

    def hook_fails() -> None:
        widgets.state.make("timer")
        raise RuntimeError("a timer action failed")

    monkeypatch.setattr(widgets.state, "on_clock_moved", hook_fails)
    response = await widgets.c.post("/_sim/clock/advance", json={"seconds": 3600})
    assert response.status_code == 500
    assert _snapshot(widgets.state) == before
    assert widgets.state.clock.state()["frozen"] == clock_before["frozen"]
    assert widgets.state.clock.now_iso() < widgets.state.clock.plus(seconds=1800)


async def test_reset_is_one_transaction(widgets, monkeypatch):
    await widgets.call("POST", "/widgets", 201, headers={"Idempotency-Key": "r-1"})
    before = _snapshot(widgets.state)

    def fails() -> None:
        raise RuntimeError("reset failed half-way")

    monkeypatch.setattr(widgets.state, "on_reset", fails)
    assert (await widgets.c.post("/_sim/reset")).status_code == 500
    assert _snapshot(widgets.state) == before
    monkeypatch.undo()
    await widgets.call("POST", "/_sim/reset", 200)
    assert _snapshot(widgets.state)[0] == {"account": []}
    assert widgets.state.rt.ids.position == 0


# -- the unit of work on its own -----------------------------------------------------------


def _state() -> WidgetState:
    return WidgetState(Runtime("crm"))


def test_outside_any_transaction_changes_apply_at_once():
    state = _state()
    state.make("direct")
    assert len(state.rt.events) == 1


def _write_then_raise(state: WidgetState, name: str, exc: Exception) -> None:
    with transaction(state.rt):
        state.make(name)
        raise exc


def test_a_transaction_block_commits_or_rolls_back_whole():
    state = _state()
    with transaction(state.rt):
        state.make("kept")
    before = _snapshot(state)
    with pytest.raises(Conflict):
        _write_then_raise(state, "gone", Conflict("refused", "after a write"))
    assert _snapshot(state) == before
    with pytest.raises(Conflict):
        _write_then_raise(state, "kept too", Conflict("declined", "kept", commits=True))
    assert [w["name"] for w in state.export()["account"]] == ["kept", "kept too"]


def test_a_nested_transaction_block_joins_the_open_one():
    state = _state()

    def nested() -> None:
        with transaction(state.rt) as outer:
            with transaction(state.rt) as inner:
                assert inner is outer
                state.make("inner")
            raise RuntimeError("the outer block fails")

    with pytest.raises(RuntimeError):
        nested()
    assert state.export()["account"] == []


def test_a_read_refuses_every_kind_of_write():
    state = _state()
    token = enter(READ_ONLY)
    try:
        for write in (
            lambda: state.make("x"),
            lambda: state.rt.ids.new("account"),
            lambda: state.store.next_number("n"),
            lambda: state.rt.events.emit("x.y", {}),
            lambda: state.rt.clock.advance(1),
            state.reset,
        ):
            with pytest.raises(ReadsNeverWrite):
                write()
        with pytest.raises(ReadsNeverWrite), transaction(state.rt):
            pass
    finally:
        leave(token)
    assert len(state.rt.events) == 0


def test_a_second_writer_is_refused_while_the_first_has_uncommitted_writes():
    state = _state()
    first, second = UnitOfWork(state.rt), UnitOfWork(state.rt)
    token = enter(first)
    state.make("first")
    leave(token)
    token = enter(second)
    with pytest.raises(InterleavedWrites):
        state.make("second")
    leave(token)
    first.commit()
    token = enter(second)
    state.make("second")
    leave(token)
    second.commit()
    assert [w["name"] for w in state.export()["account"]] == ["first", "second"]


def test_a_write_after_the_commit_is_refused():
    state = _state()
    unit = UnitOfWork(state.rt)
    token = enter(unit)
    try:
        state.make("in time")
        unit.commit()
        with pytest.raises(InterleavedWrites):
            state.make("too late")
    finally:
        leave(token)
    assert state.rt.writer is None
    assert [w["name"] for w in state.export()["account"]] == ["in time"]


def test_listeners_hear_of_events_once_their_whole_commit_is_on_the_feed():
    state = _state()
    heard: list[tuple[str, int]] = []
    state.rt.events.subscribe(lambda e: heard.append((e["data"]["name"], len(state.rt.events))))
    with transaction(state.rt):
        state.make("one")
        state.make("two")
        assert heard == []
    assert heard == [("one", 2), ("two", 2)]


def test_changes_are_what_a_durable_store_writes_in_one_transaction():
    state = _state()
    kept = state.make("kept")
    gone = state.make("gone")
    unit = UnitOfWork(state.rt)
    token = enter(unit)
    try:
        added = state.make("added")
        updated = state.update("account", kept, {"name": "renamed"})
        state.col("account").remove(gone["id"])
        unit.save_response("golive", "k", 201, [], b"{}")
        changes = unit.changes()
    finally:
        leave(token)
    assert changes.objects == {
        "account": {added["id"]: added, kept["id"]: updated, gone["id"]: None}
    }
    assert changes.counters == {"widgets": 3}
    assert [e["id"] for e in changes.events] == ["evt_crm_000000000003"]
    assert changes.id_position == state.rt.ids.position
    assert changes.idempotency == ("golive", "k", 201, [], b"{}")
    assert not changes.cleared


def test_the_changes_of_a_reset_empty_every_collection_first():
    state = _state()
    state.make("old")
    unit = UnitOfWork(state.rt)
    token = enter(unit)
    try:
        state.reset()
        state.rt.reset()
        fresh = state.make("fresh")
        changes = unit.changes()
    finally:
        leave(token)
    assert changes.cleared == ["account", "webhook_endpoint"]  # the kit's endpoints too
    assert changes.objects == {"account": {fresh["id"]: fresh}}
    assert changes.events_cleared
    assert changes.keys_cleared
    assert changes.id_position == 1
    assert changes.counters == {"widgets": 1}


_OPS = st.lists(
    st.sampled_from(["make", "rename", "remove", "count", "event", "draw", "clear"]),
    max_size=12,
)


@given(setup=_OPS, work=_OPS)
def test_any_mix_of_writes_rolls_back_to_exactly_the_state_before(setup, work):
    state = _state()

    def run(ops: list[str]) -> None:
        for n, op in enumerate(ops):
            accounts = list(state.col("account"))
            if op == "make":
                state.make(f"w{n}-{len(accounts)}-{state.rt.ids.position}")
            elif op == "rename" and accounts:
                state.update("account", accounts[0], {"name": f"r{state.rt.ids.position}-{n}"})
            elif op == "remove" and accounts:
                state.col("account").remove(accounts[len(accounts) // 2]["id"])
            elif op == "count":
                state.store.next_number("other")
            elif op == "event":
                state.rt.events.emit("thing.happened", {"n": n})
            elif op == "draw":
                state.rt.ids.new("account")
            elif op == "clear":
                state.reset()

    run(setup)
    before = _snapshot(state)
    unit = UnitOfWork(state.rt)
    token = enter(unit)
    try:
        run(work)
        unit.rollback()
    finally:
        leave(token)
    assert _snapshot(state) == before
    assert state.rt.writer is None
