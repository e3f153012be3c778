"""The background scheduler: with the clock running, jobs fire at their due time; frozen, never."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from simulators.estate import Estate, running_estate
from simulators.kit.clock import format_instant, parse_instant


@pytest.fixture(scope="module")
def support() -> Iterator[Estate]:
    with running_estate(["support"]) as estate:
        yield estate


def _case_due_soon(estate: Estate, lead_s: float, frozen: bool) -> dict[str, Any]:
    """An urgent case whose first-response target passes ``lead_s`` seconds from now."""
    url = estate.url("support")
    httpx.post(f"{url}/_sim/reset").raise_for_status()
    with estate.client("support") as client:
        org = client.post("/organizations", json={"name": "Acme"}).json()
        case = client.post("/cases", json={"organization_id": org["id"], "subject": "Down",
                                           "priority": "urgent"}).json()  # fmt: skip
    due = parse_instant(case["first_response_due_at"])
    at = format_instant(due - timedelta(seconds=lead_s))
    httpx.post(f"{url}/_sim/clock/freeze", json={"at": at}).raise_for_status()
    if not frozen:
        httpx.post(f"{url}/_sim/clock/freeze", json={"frozen": False}).raise_for_status()
    return case


def _breaches(estate: Estate) -> list[dict[str, Any]]:
    with estate.client("support") as client:
        data: list[dict[str, Any]] = client.get(
            "/events", params={"type": "case.sla_breached"}
        ).json()["data"]
        return data


def test_a_running_clock_fires_a_job_when_it_falls_due(support):
    case = _case_due_soon(support, lead_s=0.6, frozen=False)
    assert _breaches(support) == []
    deadline = time.monotonic() + 5
    while not _breaches(support):
        assert time.monotonic() < deadline, "the breach did not fire within 5 s"
        time.sleep(0.05)
    [breach] = _breaches(support)
    due = parse_instant(case["first_response_due_at"])
    late = (parse_instant(breach["occurred_at"]) - due).total_seconds()
    assert 0 < late < 1.5  # sleeps until the due time, at most ~1 s at a time


def test_a_frozen_clock_fires_nothing_until_it_is_moved(support):
    _case_due_soon(support, lead_s=0.3, frozen=True)
    time.sleep(1.5)
    assert _breaches(support) == []
    url = support.url("support")
    moved = httpx.post(f"{url}/_sim/clock/advance", json={"seconds": 1}).json()
    assert moved["ran"]["runs"] == {"sla_breach": 1}
    assert len(_breaches(support)) == 1


def test_the_background_scheduler_stops_with_the_server():
    with running_estate(["support"]) as estate:
        ticker = estate.apps["support"].state.ticker
        assert ticker._task is not None
        assert not ticker._task.done()
    assert ticker._task is None  # awaited to its end by the lifespan's shutdown
