"""Durable state: what a restart on the same state directory brings back, and what it must not."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from simulators.kit.durable import Durable, StateDirInUse, StateDirProblem, check_state_dir
from simulators.kit.runtime import SimConfig
from simulators.kit.uow import transaction
from simulators.registry import create_app
from simulators.testing import free_base_port, sim_client, state_of

pytestmark = pytest.mark.anyio

Opener = Callable[..., FastAPI]


@pytest.fixture
def open_app(tmp_path: Path) -> Iterator[Opener]:
    """``open_app("crm")`` is a simulator on ``tmp_path``; every one is closed after the test."""
    opened: list[FastAPI] = []

    def make(system: str = "crm", **config: Any) -> FastAPI:
        app = create_app(system, SimConfig(state_dir=tmp_path, **config))
        opened.append(app)
        return app

    yield make
    for app in opened:
        durable_of(app).close()


def durable_of(app: FastAPI) -> Durable:
    durable = state_of(app).rt.durable
    assert durable is not None
    return durable


def restart(app: FastAPI, open_app: Opener, system: str = "crm") -> FastAPI:
    durable_of(app).close()
    return open_app(system)


@asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with sim_client(state_of(app).rt.system, app=app) as c:
        yield c


async def test_a_restart_restores_objects_in_order_with_their_indexes(open_app: Opener) -> None:
    app = open_app()
    async with client(app) as c:
        ids = []
        for n in range(5):
            r = await c.post("/accounts", json={"name": f"A{n}", "external_id": f"ext-{n}"})
            ids.append(r.json()["id"])
        r = await c.patch(f"/accounts/{ids[1]}", json={"name": "renamed"})
        assert r.status_code == 200
    app = restart(app, open_app)
    async with client(app) as c:
        listed = (await c.get("/accounts")).json()["data"]
        assert [a["id"] for a in listed] == ids
        assert listed[1]["name"] == "renamed"
        assert listed[1]["version"] == 2
        found = (await c.get("/accounts", params={"external_id": "ext-3"})).json()["data"]
        assert [a["id"] for a in found] == [ids[3]]


async def test_ids_go_on_after_a_restart_and_events_continue(open_app: Opener) -> None:
    app = open_app()
    async with client(app) as c:
        first = (await c.post("/accounts", json={"name": "A"})).json()["id"]
        events = (await c.get("/events")).json()["data"]
    position = state_of(app).rt.ids.position
    app = restart(app, open_app)
    assert state_of(app).rt.ids.position == position
    async with client(app) as c:
        second = (await c.post("/accounts", json={"name": "B"})).json()["id"]
        assert second != first
        after = (await c.get("/events", params={"after": events[-1]["id"]})).json()["data"]
    assert [e["id"] for e in after] == ["evt_crm_000000000002"]
    assert after[0]["data"]["id"] == second


async def test_a_saved_idempotency_key_replays_after_a_restart(open_app: Opener) -> None:
    app = open_app()
    headers = {"Idempotency-Key": "create-acme"}
    async with client(app) as c:
        first = await c.post("/accounts", json={"name": "Acme"}, headers=headers)
    app = restart(app, open_app)
    async with client(app) as c:
        again = await c.post("/accounts", json={"name": "Acme"}, headers=headers)
        reused = await c.post("/accounts", json={"name": "Other"}, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert reused.status_code == 422


async def test_a_non_ascii_replay_comes_back_byte_for_byte(open_app: Opener) -> None:
    app = open_app()
    headers = {"Idempotency-Key": "non-ascii-1"}
    async with client(app) as c:
        first = await c.post("/accounts", json={"name": "Ünïcødé 名前 \u0000"}, headers=headers)
    app = restart(app, open_app)
    async with client(app) as c:
        again = await c.post("/accounts", json={"name": "Ünïcødé 名前 \u0000"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content


async def test_key_records_written_as_text_still_restore(open_app: Opener, tmp_path: Path) -> None:
    """Key records were text for a while (fingerprint as hex, body as latin-1): still read."""
    app = open_app()
    headers = {"Idempotency-Key": "text-rows"}
    async with client(app) as c:
        first = await c.post("/accounts", json={"name": "Öld 名前"}, headers=headers)
    durable_of(app).close()
    with sqlite3.connect(tmp_path / "crm.sqlite3") as db:
        (fingerprint, head, body) = db.execute(
            "SELECT fingerprint, headers, body FROM keys"
        ).fetchone()
        assert isinstance(fingerprint, bytes)
        assert isinstance(body, bytes)
        db.execute(
            "UPDATE keys SET fingerprint = ?, headers = ?, body = ?",
            (fingerprint.hex(), head.decode(), body.decode("latin-1")),
        )
    app = open_app()
    async with client(app) as c:
        again = await c.post("/accounts", json={"name": "Öld 名前"}, headers=headers)
        reused = await c.post("/accounts", json={"name": "Other"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert reused.status_code == 422


async def test_an_expired_key_is_not_restored(open_app: Opener) -> None:
    app = open_app()
    async with client(app) as c:
        await c.post("/accounts", json={"name": "Acme"}, headers={"Idempotency-Key": "k"})
        await c.post("/_sim/clock/advance", json={"seconds": 25 * 3600})
    app = restart(app, open_app)
    assert len(state_of(app).rt.idempotency) == 0


async def test_a_frozen_clock_stays_frozen_and_a_running_one_keeps_its_offset(
    open_app: Opener,
) -> None:
    app = open_app()
    async with client(app) as c:
        await c.post("/_sim/clock/freeze", json={"at": "2031-05-01T00:00:00Z"})
    app = restart(app, open_app)
    clock = state_of(app).rt.clock
    assert clock.frozen
    assert clock.now_iso() == "2031-05-01T00:00:00.000000Z"
    async with client(app) as c:
        await c.post("/_sim/clock/freeze", json={"frozen": False})
    app = restart(app, open_app)
    clock = state_of(app).rt.clock
    assert not clock.frozen
    assert clock.now().year == 2031


async def test_timer_actions_and_counters_are_kept(open_app: Opener) -> None:
    app = open_app("billing")
    state = state_of(app)
    with transaction(state.rt):
        state.store.next_number("invoice_numbers")
        state.store.next_number("invoice_numbers")
    assert durable_of(app).flush()
    app = restart(app, open_app, "billing")
    assert state_of(app).store.counter("invoice_numbers") == 2


async def test_after_seed_rebuilds_what_a_system_derives(open_app: Opener) -> None:
    app = open_app("support")
    async with client(app) as c:
        org = (await c.post("/organizations", json={"name": "Org"})).json()
        r = await c.post(
            "/cases", json={"organization_id": org["id"], "subject": "down", "priority": "urgent"}
        )
        assert r.status_code == 201, r.text
    app = restart(app, open_app, "support")
    # The case's SLA deadline is due again: the restored index feeds the scheduler.
    restored = state_of(app)
    assert restored.store["case"].lowest("sla_due") is not None
    assert restored.scheduler.job("sla_breach").due() is not None


async def test_webhook_endpoints_are_kept_and_undelivered_events_queued_again(
    open_app: Opener,
) -> None:
    app = open_app()
    async with client(app) as c:
        receiver = {"url": "http://127.0.0.1:9/h", "events": ["*"]}
        r = await c.post("/webhook-endpoints", json=receiver)
        assert r.status_code == 201, r.text
        endpoint = r.json()["id"]
        await c.post("/accounts", json={"name": "A"})
    app = restart(app, open_app)
    assert endpoint in state_of(app).store["webhook_endpoint"]
    assert app.state.dispatcher.queued() == 1  # the account's event, never delivered


async def test_reset_clears_the_database(open_app: Opener, tmp_path: Path) -> None:
    app = open_app()
    async with client(app) as c:
        await c.post("/accounts", json={"name": "A"}, headers={"Idempotency-Key": "k"})
        assert (await c.post("/_sim/reset")).status_code == 200
    app = restart(app, open_app)
    state = state_of(app)
    assert len(state.store["account"]) == 0
    assert len(state.rt.events) == 0
    assert len(state.rt.idempotency) == 0
    with sqlite3.connect(tmp_path / "crm.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM objects").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM events").fetchone() == (0,)


async def test_a_refused_request_writes_nothing(open_app: Opener) -> None:
    app = open_app()
    durable = durable_of(app)
    async with client(app) as c:
        r = await c.post("/opportunities", json={"account_id": "acc_missing", "name": "O"})
        assert r.status_code == 422
        assert (await c.get("/accounts")).status_code == 200
    assert durable.submitted == 0
    assert durable.commits == 0


async def test_group_commit_writes_many_requests_in_fewer_commits(open_app: Opener) -> None:
    app = open_app()
    durable = durable_of(app)
    async with client(app) as c:
        answers = await asyncio.gather(
            *(c.post("/accounts", json={"name": f"A{n}"}) for n in range(40))
        )
    assert all(a.status_code == 201 for a in answers)
    assert durable.done == 40
    assert durable.commits < 40


async def test_a_read_waits_until_the_commits_before_it_are_on_disk(open_app: Opener) -> None:
    app = open_app()
    durable = durable_of(app)
    release = threading.Event()
    commit = durable._commit

    def slow_commit(changes: Any) -> None:
        release.wait(10)
        commit(changes)

    durable._commit = slow_commit  # type: ignore[method-assign]
    async with client(app) as c:
        try:
            write = asyncio.ensure_future(c.post("/accounts", json={"name": "A"}))
            while durable.submitted == 0:
                await asyncio.sleep(0.001)
            read = asyncio.ensure_future(c.get("/accounts"))
            await asyncio.sleep(0.2)
            assert not write.done()
            assert not read.done()
        finally:
            release.set()
        assert (await write).status_code == 201
        assert len((await read).json()["data"]) == 1


async def test_a_failed_commit_is_a_500_then_the_simulator_stops(open_app: Opener) -> None:
    app = open_app()
    durable = durable_of(app)
    async with client(app) as c:
        kept = (await c.post("/accounts", json={"name": "kept"})).json()["id"]

        def full_disk(changes: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        durable._commit = full_disk  # type: ignore[method-assign]
        failed = await c.post("/accounts", json={"name": "lost"})
        assert failed.status_code == 500
        assert failed.json()["code"] == "storage_failed"
        for method, path in (("POST", "/accounts"), ("GET", "/accounts")):
            refused = await c.request(method, path, json={"name": "x"})
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "storage_failed"
    app = restart(app, open_app)
    assert [a["id"] for a in state_of(app).store["account"]] == [kept]


def test_a_second_process_is_refused_with_the_holder_named(
    open_app: Opener, tmp_path: Path
) -> None:
    open_app()
    with pytest.raises(StateDirInUse, match="in use by process"):
        create_app("crm", SimConfig(state_dir=tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "simulators.serve", "crm", "--port", str(free_base_port(1)),
         "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "in use by process" in lines[0]


def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(StateDirProblem, match="not a folder"):
        check_state_dir(file)
    done = subprocess.run(
        [sys.executable, "-m", "simulators.serve", "crm", "--state-dir", str(file)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "not a folder" in done.stderr


def test_a_damaged_database_is_refused_in_one_line_and_frees_the_lock(tmp_path: Path) -> None:
    (tmp_path / "crm.sqlite3").write_bytes(b"not a database, " * 512)
    with pytest.raises(StateDirProblem, match="not a database") as refused:
        create_app("crm", SimConfig(state_dir=tmp_path))
    assert "\n" not in str(refused.value)
    (tmp_path / "crm.sqlite3").unlink()
    app = create_app("crm", SimConfig(state_dir=tmp_path))  # the lock was released
    durable_of(app).close()
