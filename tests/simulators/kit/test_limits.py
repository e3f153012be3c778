"""Throttling as the vendors do it: per-client rate, account concurrency, rolling daily quota."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter
from starlette.responses import Response

from lifecycle.limits import VENDOR_LIMITS, LimitSettings
from simulators.estate import running_estate
from simulators.kit.app import build_app
from simulators.kit.clock import SimClock
from simulators.kit.http import json_response
from simulators.kit.limits import Limiter, LimitExceeded, QuotaExceeded
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime, SimConfig
from simulators.kit.state import SystemState
from simulators.kit.store import CollectionSpec
from simulators.serve import throttling_from_env
from simulators.testing import sim_client, state_of

pytestmark = pytest.mark.anyio


def _frozen() -> SimClock:
    clock = SimClock()
    clock.freeze()
    return clock


def test_the_bucket_admits_its_burst_then_refuses_until_time_refills_it():
    clock = _frozen()
    limiter = Limiter(clock, LimitSettings(rate_per_s=1.0, burst=3))
    for remaining in ("2", "1", "0"):
        headers = dict(limiter.admit("a"))
        limiter.release()
        assert headers[b"ratelimit-limit"] == b"3"
        assert headers[b"ratelimit-remaining"] == remaining.encode()
    with pytest.raises(LimitExceeded) as refused:
        limiter.admit("a")
    assert refused.value.status == 429
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.headers is not None
    assert refused.value.headers["Retry-After"] == "1"
    assert refused.value.headers["RateLimit-Remaining"] == "0"
    assert limiter.in_flight == 0
    dict(limiter.admit("b"))  # each client has its own bucket
    limiter.release()
    clock.advance(1.0)  # the simulated clock moves: one token back
    limiter.admit("a")
    limiter.release()
    with pytest.raises(LimitExceeded):
        limiter.admit("a")


def test_concurrency_counts_the_whole_account_in_flight():
    limiter = Limiter(_frozen(), LimitSettings(concurrency=2))
    limiter.admit("a")
    limiter.admit("b")
    with pytest.raises(LimitExceeded) as refused:
        limiter.admit("c")
    assert refused.value.code == "concurrency_limit_exceeded"
    assert refused.value.headers == {"Retry-After": "1"}
    limiter.release()
    limiter.admit("c")
    assert limiter.in_flight == 2


def test_the_daily_quota_is_a_rolling_24_hours_that_says_its_usage():
    clock = _frozen()
    limiter = Limiter(clock, LimitSettings(daily_quota=3))
    for used in (1, 2, 3):
        assert dict(limiter.admit("a"))[b"sforce-limit-info"] == f"api-usage={used}/3".encode()
        limiter.release()
        clock.advance(3600)
    with pytest.raises(QuotaExceeded) as refused:
        limiter.admit("a")
    assert refused.value.status == 403
    assert refused.value.code == "request_limit_exceeded"
    assert refused.value.headers == {"Sforce-Limit-Info": "api-usage=3/3"}
    clock.advance(21 * 3600 + 60)  # the first request leaves the window, the others stay
    assert dict(limiter.admit("a"))[b"sforce-limit-info"] == b"api-usage=3/3"
    limiter.release()
    with pytest.raises(QuotaExceeded):
        limiter.admit("a")


def test_a_refused_request_spends_nothing():
    clock = _frozen()
    limiter = Limiter(clock, LimitSettings(rate_per_s=1.0, burst=1, daily_quota=10))
    limiter.admit("a")
    limiter.release()
    for _ in range(5):
        with pytest.raises(LimitExceeded):
            limiter.admit("a")
    assert limiter.usage()["daily_requests"] == 1
    assert limiter.in_flight == 0


def test_settings_refuse_what_does_not_make_sense():
    for bad in (
        {"rate_per_s": 0},
        {"rate_per_s": 1e-300},  # a bucket that would take longer than time to refill
        {"rate_per_s": float("inf")},
        {"burst": 5},
        {"concurrency": 1.5},
        {"daily_quota": True},
    ):
        with pytest.raises(ValueError, match=r"must be|needs rate_per_s"):
            LimitSettings(**bad)  # type: ignore[arg-type]
    assert not LimitSettings().active
    assert all(s.active for s in VENDOR_LIMITS.values())


async def test_over_the_rate_a_client_gets_429_problem_json_and_no_key_is_used_up():
    config = SimConfig(limits=LimitSettings(rate_per_s=1.0, burst=2))
    async with sim_client("crm", config) as c:
        state_of(c.app).rt.clock.freeze()
        ok = await c.post("/accounts", json={"name": "A"})
        assert ok.status_code == 201
        assert ok.headers["ratelimit-limit"] == "2"
        assert ok.headers["ratelimit-remaining"] == "1"
        await c.get("/accounts")
        refused = await c.post("/accounts", json={"name": "B"}, headers={"Idempotency-Key": "k"})
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "rate_limit_exceeded"
        assert refused.headers["retry-after"] == "1"
        state_of(c.app).rt.clock.advance(1)
        retried = await c.post("/accounts", json={"name": "B"}, headers={"Idempotency-Key": "k"})
        assert retried.status_code == 201
        assert "idempotent-replayed" not in retried.headers
        statuses = [e["status"] for e in state_of(c.app).rt.journal.entries()]
        assert statuses[-2:] == [429, 201]
        # The control plane and the token endpoint are never throttled.
        for _ in range(5):
            assert (await c.get("/_sim/health")).status_code == 200


class _Slow(SystemState):
    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (CollectionSpec("account"),)


async def test_a_request_over_the_concurrency_limit_is_429_until_one_finishes():
    state = _Slow(Runtime("crm", SimConfig(limits=LimitSettings(concurrency=2))))
    release = asyncio.Event()
    router = APIRouter(route_class=SimRoute)

    @router.get("/slow")
    async def slow() -> Response:
        await release.wait()
        return json_response({"ok": True})

    app = build_app(state, router, title="t", description="t")
    async with sim_client("crm", app=app) as c:
        running = [asyncio.create_task(c.get("/slow")) for _ in range(2)]
        while state.rt.limits.in_flight < 2:
            await asyncio.sleep(0)
        third = await c.get("/slow")
        assert third.status_code == 429
        assert third.json()["code"] == "concurrency_limit_exceeded"
        release.set()
        assert [(await r).status_code for r in running] == [200, 200]
        assert state.rt.limits.in_flight == 0
        assert (await c.get("/slow")).status_code == 200


async def test_the_control_plane_sets_shows_and_clears_the_limits():
    async with sim_client("erp") as c:
        shown = (await c.get("/_sim/limits")).json()
        assert shown["limits"] == LimitSettings().as_dict()
        vendor = await c.put("/_sim/limits", json={"profile": "vendor", "concurrency": 3})
        assert vendor.status_code == 200
        expected = {**VENDOR_LIMITS["erp"].as_dict(), "concurrency": 3}
        assert vendor.json()["limits"] == expected
        assert (await c.get("/sales-orders")).headers["ratelimit-limit"] == "20"
        for body in (
            {"burst": 5},
            {"rate_per_s": -1},
            {"rate_per_s": 1e-300},
            {"profile": "fast"},
            {"concurency": 2},
        ):
            bad = await c.put("/_sim/limits", json=body)
            assert bad.status_code == 422, body
            assert bad.headers["content-type"].startswith("application/problem+json")
        assert (await c.get("/_sim/limits")).json()["limits"] == expected  # unchanged
        assert (await c.delete("/_sim/limits")).json()["limits"] == LimitSettings().as_dict()
        assert "ratelimit-limit" not in (await c.get("/sales-orders")).headers


async def test_a_reset_goes_back_to_the_limits_the_simulator_started_with():
    config = SimConfig(limits=LimitSettings(concurrency=7))
    async with sim_client("crm", config) as c:
        await c.put("/_sim/limits", json={"concurrency": 1})
        await c.post("/_sim/reset")
        assert (await c.get("/_sim/limits")).json()["limits"]["concurrency"] == 7


def test_golive_limits_in_the_environment_is_vendor_off_or_json():
    assert throttling_from_env("erp", {"GOLIVE_LIMITS": "vendor"}) == VENDOR_LIMITS["erp"]
    assert not throttling_from_env("erp", {"GOLIVE_LIMITS": "off"}).active
    assert throttling_from_env("erp", {}) == LimitSettings()
    mine = throttling_from_env("crm", {"GOLIVE_LIMITS": json.dumps({"concurrency": 4})})
    assert mine == LimitSettings(concurrency=4)
    for bad in ("fast", '{"concurrency": 0}', '{"burst": 3}', "[1]"):
        with pytest.raises(ValueError, match="GOLIVE_LIMITS"):
            throttling_from_env("crm", {"GOLIVE_LIMITS": bad})


def test_a_served_simulator_refuses_bad_golive_limits_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "simulators.serve", "crm", "--port", "0"],
        capture_output=True, text=True, env={"GOLIVE_LIMITS": '{"concurrency": -2}', "PATH": ""},
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "GOLIVE_LIMITS" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_estate_throttles_only_the_systems_it_is_told_to():
    with running_estate(["crm", "erp"], limits={"erp": LimitSettings(concurrency=9)}) as estate:
        for system, throttled in (("crm", False), ("erp", True)):
            shown = httpx.get(f"{estate.url(system)}/_sim/limits").json()
            assert (shown["limits"]["concurrency"] == 9) is throttled
