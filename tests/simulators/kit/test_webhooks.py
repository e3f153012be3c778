"""Webhooks: endpoints, signed at-least-once delivery to a real receiver, retries on the clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.estate import Estate, running_estate
from simulators.kit.dispatcher import Dispatcher
from simulators.kit.webhooks import RETRY_SCHEDULE_S, done_counter
from simulators.testing import sim_client, state_of

pytestmark = pytest.mark.anyio


@dataclass
class Receiver:
    """A real HTTP receiver: records each request, answers ``status`` (a list = in turn)."""

    url: str = ""
    status: int = 200
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.got]

    def wait_for(self, count: int, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.got) < count:
            assert time.monotonic() < deadline, f"{len(self.got)} deliveries, wanted {count}"
            time.sleep(0.01)


@pytest.fixture
def receiver(wire: Any) -> Iterator[Receiver]:
    rec = Receiver()

    async def hook(request: Request) -> Response:
        rec.got.append((dict(request.headers), await request.body()))
        return Response(status_code=rec.status)

    with wire.serving(
        Starlette(routes=[Route("/webhooks/{system}", hook, methods=["POST"])])
    ) as url:
        rec.url = f"{url}/webhooks"
        yield rec


@pytest.fixture
def crm() -> Iterator[Estate]:
    with running_estate(["crm"]) as estate:
        yield estate


def _register(client: httpx.Client, url: str, events: list[str] | None = None) -> dict[str, Any]:
    r = client.post("/webhook-endpoints", json={"url": url, "events": events or ["*"]})
    assert r.status_code == 201, r.text
    return r.json()


def _deliveries(estate: Estate, system: str = "crm") -> dict[str, Any]:
    return httpx.get(f"{estate.url(system)}/_sim/deliveries").json()


def _wait_settled(estate: Estate, timeout_s: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = _deliveries(estate)
        if shown["pending"] == 0:
            return shown
        assert time.monotonic() < deadline, shown
        time.sleep(0.01)


def test_each_event_reaches_the_receiver_signed_as_standard_webhooks_says(crm, receiver):
    with crm.client("crm") as c:
        endpoint = _register(c, f"{receiver.url}/crm")
        assert endpoint["secret"].startswith("whsec_")
        account = c.post("/accounts", json={"name": "Acme"}).json()
        c.patch(f"/accounts/{account['id']}", json={"industry": "Retail"})
    receiver.wait_for(2)
    verifier = Webhook(endpoint["secret"])
    payloads = [verifier.verify(body, headers) for headers, body in receiver.got]
    assert sorted(p["type"] for p in payloads) == ["account.created", "account.updated"]
    assert {p["data"]["id"] for p in payloads} == {account["id"]}
    assert sorted(receiver.ids()) == sorted(p["id"] for p in payloads)
    shown = _wait_settled(crm)
    assert [a["outcome"] for a in shown["data"]] == ["delivered", "delivered"]
    assert all(a["status"] == 200 and a["attempt"] == 1 for a in shown["data"])
    # A forged signature does not verify: the receiver's library really checks it.
    headers, body = receiver.got[0]
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint["secret"]).verify(body + b" ", headers)


def test_an_endpoint_gets_only_the_types_it_asked_for(crm, receiver):
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm", ["account.updated"])
        account = c.post("/accounts", json={"name": "Acme"}).json()
        c.patch(f"/accounts/{account['id']}", json={"industry": "Retail"})
    receiver.wait_for(1)
    _wait_settled(crm)
    assert len(receiver.got) == 1
    assert b'"account.updated"' in receiver.got[0][1]


def test_a_receiver_that_is_down_gets_the_event_when_the_clock_reaches_the_retry(crm, receiver):
    admin = crm.admin_headers
    httpx.post(f"{crm.url('crm')}/_sim/clock/freeze", json={}, headers=admin)
    receiver.status = 503
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm", ["account.created"])
        c.post("/accounts", json={"name": "Acme"})
    receiver.wait_for(1)
    first = _wait_settled(crm)["data"]
    assert [(a["attempt"], a["status"], a["outcome"]) for a in first] == [(1, 503, "retrying")]
    time.sleep(0.3)
    assert len(receiver.got) == 1  # the clock stands still: no retry yet
    receiver.status = 200
    httpx.post(f"{crm.url('crm')}/_sim/clock/advance", json={"seconds": 6}, headers=admin)
    receiver.wait_for(2)
    shown = _wait_settled(crm)["data"]
    assert [(a["attempt"], a["outcome"]) for a in shown] == [(1, "retrying"), (2, "delivered")]
    assert receiver.ids()[0] == receiver.ids()[1]  # the same webhook-id: receivers dedupe on it


def test_after_the_last_retry_a_delivery_is_given_up_and_logged_as_failed(crm, receiver):
    admin = crm.admin_headers
    httpx.post(f"{crm.url('crm')}/_sim/clock/freeze", json={}, headers=admin)
    receiver.status = 500
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm", ["account.created"])
        c.post("/accounts", json={"name": "Acme"})
    for attempt in range(1, len(RETRY_SCHEDULE_S) + 2):
        receiver.wait_for(attempt)
        _wait_settled(crm)
        step = RETRY_SCHEDULE_S[min(attempt, len(RETRY_SCHEDULE_S)) - 1] * 1.1 + 1
        httpx.post(f"{crm.url('crm')}/_sim/clock/advance", json={"seconds": step}, headers=admin)
    time.sleep(0.2)
    outcomes = [a["outcome"] for a in _wait_settled(crm)["data"]]
    assert outcomes == ["retrying"] * len(RETRY_SCHEDULE_S) + ["failed"]
    assert len(receiver.got) == len(RETRY_SCHEDULE_S) + 1


def test_redeliver_sends_one_event_again_with_the_same_id(crm, receiver):
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm")
        c.post("/accounts", json={"name": "Acme"})
    receiver.wait_for(1)
    event_id = receiver.ids()[0]
    r = httpx.post(f"{crm.url('crm')}/_sim/deliveries/{event_id}/redeliver")
    assert r.json() == {"event_id": event_id, "queued": 1}
    receiver.wait_for(2)
    assert receiver.ids() == [event_id, event_id]
    missing = httpx.post(f"{crm.url('crm')}/_sim/deliveries/evt_crm_000000000999/redeliver")
    assert missing.status_code == 404
    bad = httpx.post(f"{crm.url('crm')}/_sim/deliveries/evt_erp_000000000001/redeliver")
    assert bad.status_code == 422


def test_a_reset_removes_the_endpoints_and_what_was_queued_for_them(crm, receiver):
    admin = crm.admin_headers
    httpx.post(f"{crm.url('crm')}/_sim/clock/freeze", json={}, headers=admin)
    receiver.status = 503
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm")
        c.post("/accounts", json={"name": "Acme"})
        receiver.wait_for(1)
        crm.reset()
        assert c.get("/webhook-endpoints").json()["data"] == []
    assert _deliveries(crm)["queued"] == 0
    receiver.status = 200
    httpx.post(f"{crm.url('crm')}/_sim/clock/advance", json={"seconds": 3600}, headers=admin)
    time.sleep(0.3)
    assert len(receiver.got) == 1


async def test_endpoints_refuse_bad_urls_types_and_secrets_and_hide_the_secret_later():
    async with sim_client("crm") as c:
        for body, code in (
            ({"url": "ftp://127.0.0.1/x", "events": ["*"]}, "invalid_webhook_url"),
            ({"url": "http://example.com/hook", "events": ["*"]}, "webhook_url_not_allowed"),
            ({"url": "http://127.0.0.1:9/h", "events": ["order.booked"]}, "unknown_event_type"),
            ({"url": "http://127.0.0.1:9/h", "events": ["*"], "secret": "whsec_c2hvcnQ="},
             "invalid_webhook_secret"),
        ):  # fmt: skip
            r = await c.post("/webhook-endpoints", json=body)
            assert r.status_code == 422, body
            assert r.json()["code"] == code
        made = (
            await c.post("/webhook-endpoints", json={"url": "http://[::1]:9/h", "events": ["*"]})
        ).json()
        assert made["secret"].startswith("whsec_")
        shown = (await c.get(f"/webhook-endpoints/{made['id']}")).json()
        assert shown["secret"] is None
        assert (await c.get("/webhook-endpoints")).json()["data"][0]["secret"] is None
        off = await c.patch(f"/webhook-endpoints/{made['id']}", json={"status": "disabled"})
        assert off.json()["status"] == "disabled"
        gone = await c.delete(f"/webhook-endpoints/{made['id']}")
        assert gone.json() == {"id": made["id"], "deleted": True}
        assert (await c.get(f"/webhook-endpoints/{made['id']}")).status_code == 404
        # Endpoints are the kit's: not part of the export that seeds back.
        assert "webhook_endpoint" not in (await c.get("/_sim/export")).json()["objects"]


async def test_what_was_done_with_is_counted_and_a_restart_sends_the_rest_again():
    async with sim_client("crm") as c:
        state = state_of(c.app)
        state.rt.clock.freeze()
        endpoint = (await c.post("/webhook-endpoints", json={"url": "http://127.0.0.1:9/h",
                                                           "events": ["*"]})).json()  # fmt: skip
        assert state.store.counter(done_counter(endpoint["id"])) == 0
        for n in range(3):
            await c.post("/accounts", json={"name": f"A{n}"})
        dispatcher: Dispatcher = c.app.state.dispatcher
        assert dispatcher.queued() == 3
        # A fresh dispatcher over the same state (what a restart on --state-dir builds)
        # queues every event after the counter again: at least once.
        again = Dispatcher(state)
        again.restore()
        assert again.queued() == 3


async def test_the_same_seed_retries_at_the_same_simulated_times(receiver):
    async def run() -> list[str | None]:
        async with sim_client("crm") as c:
            state = state_of(c.app)
            state.rt.clock.freeze(at=datetime(2027, 1, 1, tzinfo=UTC))
            receiver.status = 500
            await c.post("/webhook-endpoints", json={"url": f"{receiver.url}/crm", "events": ["*"]})
            for n in range(3):
                await c.post("/accounts", json={"name": f"A{n}"})
            dispatcher: Dispatcher = c.app.state.dispatcher
            dispatcher.start()
            try:
                deadline = time.monotonic() + 20
                while len(dispatcher.attempts) < 3:
                    assert time.monotonic() < deadline, (
                        dispatcher.queued(),
                        list(dispatcher.attempts),
                    )
                    await asyncio.sleep(0.01)
            finally:
                await dispatcher.stop()
            return sorted(a["next_attempt_at"] for a in dispatcher.attempts)

    first, second = await run(), await run()
    assert first == second
    assert len(set(first)) == 3  # jittered apart


def _fault(estate: Estate, rule: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{estate.url('crm')}/_sim/faults", json=rule, headers=estate.admin_headers)
    assert r.status_code == 201, r.text
    return r.json()


def _accounts(estate: Estate, names: list[str]) -> list[str]:
    """Create accounts one by one, each after the last one's delivery settled."""
    ids = []
    with estate.client("crm") as c:
        for name in names:
            ids.append(c.post("/accounts", json={"name": name}).json()["id"])
            _wait_settled(estate)
    return ids


def _delivered_names(receiver: Receiver) -> list[str]:
    import json

    return [json.loads(body)["data"]["name"] for _, body in receiver.got]


def test_a_duplicate_fault_delivers_an_event_twice_with_one_id(crm, receiver):
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm", ["account.created"])
    rule = _fault(crm, {"kind": "duplicate", "count": 1})
    _accounts(crm, ["A", "B"])
    receiver.wait_for(3)
    assert _delivered_names(receiver) == ["A", "A", "B"]
    assert receiver.ids()[0] == receiver.ids()[1]
    faulted = [a for a in _deliveries(crm)["data"] if a["fault"]]
    assert [a["fault"] for a in faulted] == [rule["id"]]


def test_a_reorder_fault_holds_an_event_back_behind_the_next_one(crm, receiver):
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm", ["account.created"])
        _fault(crm, {"kind": "reorder", "count": 1})
        c.post("/accounts", json={"name": "first"})
        time.sleep(0.1)
        c.post("/accounts", json={"name": "second"})
    receiver.wait_for(2)
    assert _delivered_names(receiver) == ["second", "first"]
    outcomes = [(a["outcome"], a["fault"] is not None) for a in _wait_settled(crm)["data"]]
    assert outcomes[0] == ("held", True)


def test_a_delay_fault_holds_delivery_for_its_simulated_seconds(crm, receiver):
    httpx.post(f"{crm.url('crm')}/_sim/clock/freeze", json={}, headers=crm.admin_headers)
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm", ["account.created"])
        _fault(crm, {"kind": "delay", "params": {"delay_s": 120}})
        c.post("/accounts", json={"name": "late"})
    _wait_settled(crm)
    time.sleep(0.3)
    assert receiver.got == []
    httpx.post(
        f"{crm.url('crm')}/_sim/clock/advance", json={"seconds": 121}, headers=crm.admin_headers
    )
    receiver.wait_for(1)
    assert _delivered_names(receiver) == ["late"]


def test_a_receiver_down_for_a_window_gets_every_event_afterwards(crm, receiver):
    httpx.post(f"{crm.url('crm')}/_sim/clock/freeze", json={}, headers=crm.admin_headers)
    with crm.client("crm") as c:
        _register(c, f"{receiver.url}/crm", ["account.created"])
    _fault(crm, {"kind": "webhook_down", "window": {"duration_s": 600}})
    _accounts(crm, ["A", "B", "C"])
    assert receiver.got == []  # nothing reached it: the attempts failed on the simulator
    down = _deliveries(crm)["data"]
    assert [a["outcome"] for a in down] == ["retrying"] * 3
    assert all("webhook_down" in a["error"] for a in down)
    # Retries at 5 s and 5 min fall inside the window and fail; the 30-minute one delivers.
    for seconds in (6, 330, 1990):
        httpx.post(
            f"{crm.url('crm')}/_sim/clock/advance",
            json={"seconds": seconds},
            headers=crm.admin_headers,
        )
        _wait_settled(crm)
    receiver.wait_for(3)
    assert sorted(_delivered_names(receiver)) == ["A", "B", "C"]
    assert _deliveries(crm)["queued"] == 0


async def test_the_same_seed_fires_the_same_event_faults_on_the_same_deliveries(receiver):
    async def run() -> list[tuple[str, str | None]]:
        async with sim_client("crm") as c:
            await c.post("/webhook-endpoints", json={"url": f"{receiver.url}/crm", "events": ["*"]})
            await c.post("/_sim/faults", json={"kind": "duplicate", "probability": 0.5, "seed": 7})
            dispatcher: Dispatcher = c.app.state.dispatcher
            for n in range(12):
                await c.post("/accounts", json={"name": f"A{n}"})
            dispatcher.start()
            try:
                deadline = time.monotonic() + 20
                while dispatcher.queued() or len(dispatcher.attempts) < 12:
                    assert time.monotonic() < deadline, list(dispatcher.attempts)
                    await asyncio.sleep(0.01)
            finally:
                await dispatcher.stop()
            return sorted(((a["event_id"], a["fault"]) for a in dispatcher.attempts), key=str)

    first, second = await run(), await run()
    assert first == second
    duplicated = [event for event, fault in first if fault]
    assert 0 < len(duplicated) < 12
    assert len(first) == 12 + len(duplicated)


async def test_a_duplicate_fault_on_a_failing_receiver_stays_bounded(receiver):
    """Each failed attempt must not spawn a new copy: one copy, each with its retries."""
    async with sim_client("crm") as c:
        state = state_of(c.app)
        state.rt.clock.freeze()
        receiver.status = 500
        await c.post("/webhook-endpoints", json={"url": f"{receiver.url}/crm", "events": ["*"]})
        await c.post("/_sim/faults", json={"kind": "duplicate"})
        await c.post("/accounts", json={"name": "A"})
        dispatcher: Dispatcher = c.app.state.dispatcher
        dispatcher.start()
        try:
            for _ in range(len(RETRY_SCHEDULE_S) + 2):
                deadline = time.monotonic() + 20
                while dispatcher.pending():
                    assert time.monotonic() < deadline, list(dispatcher.attempts)
                    await asyncio.sleep(0.01)
                state.rt.clock.advance(11 * 3600)
                await asyncio.sleep(0.1)
        finally:
            await dispatcher.stop()
        attempts = list(dispatcher.attempts)
        assert len(attempts) == 2 * (len(RETRY_SCHEDULE_S) + 1)  # the original and one copy
        assert [a["outcome"] for a in attempts].count("failed") == 2


@dataclass
class _SlowReceiver:
    """Holds each delivery 0.2 s and records how many it held at once, at most."""

    url: str = ""
    now: int = 0
    most: int = 0
    got: int = 0


@pytest.fixture
def slow_receiver(wire: Any) -> Iterator[_SlowReceiver]:
    rec = _SlowReceiver()

    async def hook(request: Request) -> Response:
        await request.body()
        rec.now += 1
        rec.most = max(rec.most, rec.now)
        await asyncio.sleep(0.2)
        rec.now -= 1
        rec.got += 1
        return Response(status_code=200)

    with wire.serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        rec.url = f"{url}/hook"
        yield rec


async def test_deliveries_yield_to_requests_in_flight_and_catch_up_after(slow_receiver):
    async with sim_client("crm") as c:
        state = state_of(c.app)
        await c.post("/webhook-endpoints", json={"url": slow_receiver.url, "events": ["*"]})
        for n in range(12):
            await c.post("/accounts", json={"name": f"A{n}"})
        dispatcher: Dispatcher = c.app.state.dispatcher
        state.rt.in_flight += 3  # three API requests being answered, as under load
        dispatcher.start()
        try:
            deadline = time.monotonic() + 20
            while slow_receiver.got < 6:
                assert time.monotonic() < deadline, slow_receiver
                await asyncio.sleep(0.01)
            assert slow_receiver.most == 2
            state.rt.in_flight -= 3  # the requests are answered: the rest go at once
            while slow_receiver.got < 12:
                assert time.monotonic() < deadline, slow_receiver
                await asyncio.sleep(0.01)
            assert slow_receiver.most >= 5
        finally:
            await dispatcher.stop()
