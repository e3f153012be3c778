"""The durable store's table layout (append-only rows, the first layout still restores)."""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from simulators.kit.durable import GC_YOUNG_THRESHOLD, StateDirProblem
from simulators.kit.durable_sql import LAYOUT, Writer, connect
from simulators.kit.runtime import SimConfig
from simulators.kit.uow import ChangeSet
from simulators.registry import create_app
from simulators.testing import sim_client, state_of

pytestmark = pytest.mark.anyio

# The first layout (user_version 0): objects and key records keyed by their ids.
_FIRST_LAYOUT = """
CREATE TABLE objects (
    type TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE TABLE keys (
    client TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL,
    expires_at REAL NOT NULL, status INTEGER NOT NULL, headers BLOB NOT NULL,
    body BLOB NOT NULL, PRIMARY KEY (client, key)
) WITHOUT ROWID;
"""


_HOOK = {"url": "http://127.0.0.1:9/h", "events": ["*"]}


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[list[FastAPI]]:
    apps: list[FastAPI] = []
    yield apps
    for app in apps:
        durable = state_of(app).rt.durable
        assert durable is not None
        durable.close()


def _open(tmp_path: Path, opened: list[FastAPI]) -> FastAPI:
    app = create_app("crm", SimConfig(state_dir=tmp_path))
    opened.append(app)
    return app


def _close(app: FastAPI) -> None:
    durable = state_of(app).rt.durable
    assert durable is not None
    durable.close()


def _to_first_layout(path: Path) -> None:
    """Rewrite a database of this layout as the first layout wrote it (same rows)."""
    with sqlite3.connect(path) as db:
        db.executescript(
            "ALTER TABLE objects RENAME TO objects_now; ALTER TABLE keys RENAME TO keys_now;"
            + _FIRST_LAYOUT
            + "INSERT INTO objects SELECT type, json_extract(body, '$.id'), seq, body "
            "FROM objects_now; INSERT INTO keys SELECT client, key, fingerprint, expires_at, "
            "status, headers, body FROM keys_now; DROP TABLE objects_now; DROP TABLE keys_now;"
            "PRAGMA user_version = 0;"
        )


def _layout(path: Path) -> tuple[int, list[str]]:
    with sqlite3.connect(path) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        columns = [row[1] for row in db.execute("PRAGMA table_info(objects)")]
    return version, columns


async def test_a_database_of_the_first_layout_restores_and_is_converted(
    tmp_path: Path, opened: list[FastAPI]
) -> None:
    app = _open(tmp_path, opened)
    async with sim_client("crm", app=app) as c:
        ids = [(await c.post("/accounts", json={"name": f"A{n}"})).json()["id"] for n in range(4)]
        assert (await c.patch(f"/accounts/{ids[0]}", json={"name": "renamed"})).status_code == 200
        hooks = [(await c.post("/webhook-endpoints", json=_HOOK)).json()["id"] for _ in range(3)]
        assert (await c.delete(f"/webhook-endpoints/{hooks[1]}")).status_code == 200
        saved = await c.post("/accounts", json={"name": "K"}, headers={"Idempotency-Key": "k1"})
        events = (await c.get("/events")).json()["data"]
    ids.append(saved.json()["id"])
    _close(app)
    path = tmp_path / "crm.sqlite3"
    _to_first_layout(path)
    assert _layout(path) == (0, ["type", "id", "seq", "body"])

    app = _open(tmp_path, opened)
    assert _layout(path) == (LAYOUT, ["seq", "type", "body"])
    async with sim_client("crm", app=app) as c:
        listed = (await c.get("/accounts")).json()["data"]
        assert [a["id"] for a in listed] == ids
        assert listed[0]["name"] == "renamed"
        again = await c.post("/accounts", json={"name": "K"}, headers={"Idempotency-Key": "k1"})
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == saved.content
        assert (await c.get("/events")).json()["data"] == events
        # Written after the conversion: updates and deletes find the converted rows.
        assert (await c.patch(f"/accounts/{ids[1]}", json={"name": "B"})).status_code == 200
        assert (await c.delete(f"/webhook-endpoints/{hooks[0]}")).status_code == 200
        new = (await c.post("/accounts", json={"name": "new"})).json()["id"]
    _close(app)
    app = _open(tmp_path, opened)
    store = state_of(app).store
    names = [(a["id"], a["name"]) for a in store["account"]]
    assert names == [(ids[0], "renamed"), (ids[1], "B"), (ids[2], "A2"), (ids[3], "A3"),
                     (ids[4], "K"), (new, "new")]  # fmt: skip
    assert [e["id"] for e in store["webhook_endpoint"]] == [hooks[2]]


async def test_updates_and_deletes_rewrite_the_object_row_in_place(
    tmp_path: Path, opened: list[FastAPI]
) -> None:
    app = _open(tmp_path, opened)
    async with sim_client("crm", app=app) as c:
        first = (await c.post("/accounts", json={"name": "A"})).json()["id"]
        hook = (await c.post("/webhook-endpoints", json=_HOOK)).json()["id"]
        for n in range(3):
            await c.patch(f"/accounts/{first}", json={"name": f"A{n}"})
        await c.delete(f"/webhook-endpoints/{hook}")
        second = (await c.post("/accounts", json={"name": "B"})).json()["id"]
    _close(app)
    with sqlite3.connect(tmp_path / "crm.sqlite3") as db:
        rows: list[Any] = db.execute(
            "SELECT seq, json_extract(body, '$.id'), json_extract(body, '$.name') FROM objects"
        ).fetchall()
    assert rows == [(1, first, "A2"), (3, second, "B")]


async def test_a_key_saved_again_after_it_expired_restores_its_newest_answer(
    tmp_path: Path, opened: list[FastAPI]
) -> None:
    app = _open(tmp_path, opened)
    headers = {"Idempotency-Key": "again"}
    async with sim_client("crm", app=app) as c:
        await c.post("/accounts", json={"name": "old"}, headers=headers)
        await c.post("/_sim/clock/advance", json={"seconds": 25 * 3600})
        newest = await c.post("/accounts", json={"name": "new"}, headers=headers)
        assert "Idempotent-Replayed" not in newest.headers
    _close(app)
    app = _open(tmp_path, opened)
    async with sim_client("crm", app=app) as c:
        again = await c.post("/accounts", json={"name": "new"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == newest.content
    with sqlite3.connect(tmp_path / "crm.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM keys").fetchone() == (1,)


def test_a_durable_simulator_collects_young_objects_less_often(
    tmp_path: Path, opened: list[FastAPI]
) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, *before[1:])
        _open(tmp_path, opened)
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)


def test_a_database_of_a_newer_layout_is_refused_in_one_line(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "crm.sqlite3") as db:
        db.execute(f"PRAGMA user_version = {LAYOUT + 1}")
    with pytest.raises(StateDirProblem, match="newer than this version") as refused:
        create_app("crm", SimConfig(state_dir=tmp_path))
    assert "\n" not in str(refused.value)


async def test_a_group_of_creates_appends_a_few_pages_to_the_wal(
    tmp_path: Path, opened: list[FastAPI]
) -> None:
    """Rows keyed by growing numbers: a group commit writes the tails of its tables only."""
    app = _open(tmp_path / "a", opened)
    durable = state_of(app).rt.durable
    assert durable is not None
    captured: list[ChangeSet] = []
    commit = durable._commit

    def keep(changes: list[ChangeSet]) -> None:
        captured.extend(changes)
        commit(changes)

    durable._commit = keep  # type: ignore[method-assign]
    async with sim_client("crm", app=app) as c:
        for n in range(615):
            body = {"name": f"Account {n}", "external_id": f"ext-{n}", "country": "DE"}
            r = await c.post("/accounts", json=body, headers={"Idempotency-Key": f"key-{n}"})
            assert r.status_code == 201
    (tmp_path / "b").mkdir()
    writer = Writer(connect(tmp_path / "b" / "crm.sqlite3", "full"), max_events=10**6)
    writer.connection.execute("PRAGMA wal_autocheckpoint = 0")
    wal = tmp_path / "b" / "crm.sqlite3-wal"
    for at in range(0, 600, 15):
        writer.write(captured[at : at + 15])
    before = wal.stat().st_size
    writer.write(captured[600:615])
    frames = (wal.stat().st_size - before) // (4096 + 24)
    writer.connection.close()
    assert frames <= 16  # 15 creates: ~20 kB of rows, and each table's last page


def test_rows_beyond_a_statements_limit_of_parameters_are_written_in_parts(
    tmp_path: Path,
) -> None:
    """SQLite before 3.32 allows 999 parameters a statement: a big commit still goes in."""
    connection = connect(tmp_path / "crm.sqlite3", "full")
    connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    writer = Writer(connection, max_events=10**6)
    changes = ChangeSet(objects={"account": {f"acc_{n}": {"id": f"acc_{n}"} for n in range(1200)}})
    writer.write([changes])
    ids = [json.loads(body)["id"] for (body,) in connection.execute("SELECT body FROM objects")]
    connection.close()
    assert ids == [f"acc_{n}" for n in range(1200)]
