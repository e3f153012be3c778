"""Bounded memory: the idempotency cap and expiry, the event log's window, limits from env."""

from __future__ import annotations

import pytest

from simulators.kit.clock import SimClock
from simulators.kit.events import EventLog
from simulators.kit.idempotency import KEY_TTL_S, IdempotencyStore
from simulators.kit.runtime import SimConfig, limits_from_env
from simulators.kit.uow import transaction
from simulators.testing import sim_client, state_of

pytestmark = pytest.mark.anyio

FP = b"fingerprint"


def _saved(store: IdempotencyStore, key: str, now: float) -> None:
    store.begin("c", key, FP, now)
    store.finish("c", key, 201, [(b"content-type", b"application/json")], b"{}")


def test_keys_expire_oldest_first_and_say_when_the_next_one_does():
    store = IdempotencyStore()
    for n in range(5):
        _saved(store, f"k{n}", 1000.0 + n)
    assert store.next_expiry() == 1000.0 + KEY_TTL_S
    assert store.expire(1000.0 + KEY_TTL_S + 2) == 3  # k0, k1, k2
    assert len(store) == 2
    assert store.lookup("c", "k2", 1000.0) is None
    assert store.lookup("c", "k3", 1000.0) is not None
    assert store.next_expiry() == 1003.0 + KEY_TTL_S
    assert store.expire(10**10) == 2
    assert store.next_expiry() is None


def test_the_cap_forgets_the_oldest_saved_keys_and_counts_them():
    store = IdempotencyStore(max_keys=3)
    for n in range(5):
        _saved(store, f"k{n}", 1000.0 + n)
    assert len(store) == 3
    assert store.evicted == 2
    kept = [k for k in ("k0", "k1", "k2", "k3", "k4") if store.lookup("c", k, 1005.0)]
    assert kept == ["k2", "k3", "k4"]


def test_expired_keys_go_before_the_cap_forgets_a_live_one():
    store = IdempotencyStore(max_keys=2)
    _saved(store, "old", 0.0)
    _saved(store, "live", KEY_TTL_S - 10)
    _saved(store, "new", KEY_TTL_S + 1)  # "old" has expired by now: it goes, not "live"
    assert store.evicted == 0
    assert store.lookup("c", "live", KEY_TTL_S + 1) is not None
    assert store.lookup("c", "old", KEY_TTL_S + 1) is None


def test_the_cap_never_forgets_a_key_whose_request_is_still_running():
    store = IdempotencyStore(max_keys=1)
    store.begin("c", "running", FP, 0.0)
    _saved(store, "next", 1.0)
    entry = store.lookup("c", "running", 1.0)
    assert entry is not None
    assert entry.in_flight
    assert len(store) == 2  # over the cap until the first one finishes
    _saved(store, "third", 2.0)
    assert store.lookup("c", "running", 2.0) is not None


def test_abandoned_keys_do_not_grow_the_expiry_order_without_bound():
    store = IdempotencyStore(max_keys=10)
    for n in range(10_000):
        store.begin("c", f"k{n}", FP, float(n))
        store.abandon("c", f"k{n}")
    assert len(store) == 0
    assert len(store._order) <= 2 * len(store) + 1024 + 1


async def test_a_capped_simulator_replays_recent_keys_and_runs_forgotten_ones_again():
    async with sim_client("crm", SimConfig(idempotency_max_keys=2)) as c:
        for n in range(3):
            r = await c.post(
                "/accounts", json={"name": f"A{n}"}, headers={"Idempotency-Key": f"k{n}"}
            )
            assert r.status_code == 201
        replay = await c.post("/accounts", json={"name": "A2"}, headers={"Idempotency-Key": "k2"})
        assert replay.headers.get("idempotent-replayed") == "true"
        again = await c.post("/accounts", json={"name": "A0"}, headers={"Idempotency-Key": "k0"})
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert len(state_of(c.app).col("account")) == 4
        metrics = (await c.get("/metrics")).text
        assert 'golive_idempotency_keys_evicted_total{system="crm"} 2' in metrics


def _publish(log: EventLog, n: int) -> None:
    for i in range(n):
        log.emit("account.created", {"n": i})


def test_the_event_log_keeps_its_window_and_ids_go_on_counting():
    log = EventLog("crm", SimClock(), max_events=10)
    _publish(log, 25)
    assert 10 <= len(log) <= 11
    assert log.last_sequence == 25
    events = log.all()
    assert events[-1]["id"] == "evt_crm_000000000025"
    assert [e["data"]["n"] for e in events] == list(range(25 - len(events), 25))
    assert log.first_sequence == 25 - len(events) + 1


def test_reading_after_an_event_older_than_the_window_is_410_and_names_the_oldest_kept():
    from simulators.kit.errors import Gone

    log = EventLog("crm", SimClock(), max_events=10)
    _publish(log, 25)
    first = log.first_sequence
    page, _ = log.after(f"evt_crm_{first - 1:012d}", 100)  # the last one dropped: fine
    assert page[0]["id"] == f"evt_crm_{first:012d}"
    with pytest.raises(Gone) as refused:
        log.after(f"evt_crm_{first - 2:012d}", 100)
    assert refused.value.code == "events_expired"
    assert f"evt_crm_{first:012d}" in refused.value.detail


async def test_the_feed_answers_410_problem_json_past_the_window():
    async with sim_client("crm", SimConfig(event_log_max_events=5)) as c:
        for n in range(12):
            assert (await c.post("/accounts", json={"name": f"A{n}"})).status_code == 201
        r = await c.get("/events", params={"after": "evt_crm_000000000001"})
        assert r.status_code == 410
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "events_expired"
        newest = await c.get("/events", params={"after": "evt_crm_000000000011"})
        assert [e["id"] for e in newest.json()["data"]] == ["evt_crm_000000000012"]


def test_a_reset_empties_the_window_and_a_rolled_back_reset_restores_it():
    from simulators.kit.runtime import Runtime

    rt = Runtime("crm", SimConfig(event_log_max_events=3))
    _publish(rt.events, 8)
    before = rt.events.all()

    def refused_reset() -> None:
        with transaction(rt):
            rt.events.clear()
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        refused_reset()
    assert rt.events.all() == before
    assert rt.events.last_sequence == 8
    with transaction(rt):
        rt.events.clear()
    assert len(rt.events) == 0
    assert rt.events.last_sequence == 0


def test_limits_come_from_the_environment_and_bad_values_are_named():
    env = {
        "GOLIVE_EVENT_LOG_MAX_EVENTS": "500",
        "GOLIVE_IDEMPOTENCY_MAX_KEYS": "7",
        "GOLIVE_JOURNAL_MAX_ENTRIES": "9",
    }
    assert limits_from_env(env) == {
        "event_log_max_events": 500,
        "idempotency_max_keys": 7,
        "journal_max_entries": 9,
    }
    for bad in ("0", "-1", "ten", "²"):
        with pytest.raises(ValueError, match="GOLIVE_IDEMPOTENCY_MAX_KEYS"):
            limits_from_env({"GOLIVE_IDEMPOTENCY_MAX_KEYS": bad})
