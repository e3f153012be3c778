"""The switches benchmarks use to measure what the always-on parts cost (target 4).

``GOLIVE_BENCH_WITHOUT`` must really leave each part out, or the benchmark compares a
simulator with itself; and it must never reach a simulator that keeps state on disk.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from simulators.kit.runtime import SimConfig
from simulators.serve import BENCH_PARTS, parts_left_out
from simulators.testing import sim_client

pytestmark = pytest.mark.anyio

KEY = {"Idempotency-Key": "bench-switch-1"}


def test_the_parts_are_read_from_a_comma_list_and_unknown_ones_are_refused():
    assert parts_left_out("") == frozenset()
    assert parts_left_out(" Journal , event-log,") == {"journal", "event-log"}
    assert parts_left_out(",".join(BENCH_PARTS)) == set(BENCH_PARTS)
    with pytest.raises(ValueError, match="unknown part 'events'"):
        parts_left_out("journal,events")


async def test_without_the_journal_nothing_is_journaled():
    expected_paths = ["/oauth/token", "/accounts", "/accounts"]  # the client's token first
    for enabled, expected in ((True, expected_paths), (False, [])):
        async with sim_client("crm", SimConfig(journal_enabled=enabled)) as c:
            await c.post("/accounts", json={"name": "A"})
            await c.get("/accounts")
            journal = (await c.get("/_sim/journal")).json()["data"]
            assert [e["path"] for e in journal] == expected


async def test_without_the_event_log_a_create_announces_nothing():
    for enabled, expected in ((True, ["account.created"]), (False, [])):
        async with sim_client("crm", SimConfig(event_log_enabled=enabled)) as c:
            assert (await c.post("/accounts", json={"name": "A"})).status_code == 201
            assert [e["type"] for e in (await c.get("/events")).json()["data"]] == expected


async def test_without_transactions_a_create_still_works_and_its_key_replays():
    async with sim_client("crm", SimConfig(transactions=False)) as c:
        first = await c.post("/accounts", json={"name": "A"}, headers=KEY)
        again = await c.post("/accounts", json={"name": "A"}, headers=KEY)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        # Events join the feed as they are made, with no commit to wait for.
        assert [e["type"] for e in (await c.get("/events")).json()["data"]] == ["account.created"]
        refused = await c.post("/accounts", json={"name": None}, headers={"Idempotency-Key": "k2"})
        assert refused.status_code == 422
        retried = await c.post("/accounts", json={"name": "B"}, headers={"Idempotency-Key": "k2"})
        assert retried.status_code == 201  # a refusal before the endpoint ran keeps no key
        assert (await c.get("/accounts")).json()["data"][-1]["name"] == "B"


@pytest.mark.parametrize(
    ("value", "extra", "message"),
    [
        ("journal", ["--state-dir", "{tmp}"], "in-memory benchmarks only"),
        ("journal,bogus", [], "unknown part 'bogus'"),
    ],
)
def test_serve_refuses_a_bad_switch_in_one_line(tmp_path, value, extra, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    done = subprocess.run(
        [sys.executable, "-m", "simulators.serve", "crm", "--port", "0", *argv],
        env={**os.environ, "GOLIVE_BENCH_WITHOUT": value},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
