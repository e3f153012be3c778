"""Fixtures for the middleware tests: the estate emptied per test, a catalogue, a middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.run import SutHandle, new_webhook_secret, register_webhooks, start_sut, sut_env
from simulators.estate import Estate
from tests.examples.deals import seed_catalogue

# Small enough that a test sees retries, the breaker and the dead letters in seconds.
FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.3, "park_delay_s": 0.1, "poll_s": 0.05,
        "breaker_reset_s": 0.5}  # fmt: skip


@pytest.fixture
def book(golive: Estate) -> str:
    return seed_catalogue(golive)


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture
def make_sut(golive: Estate, secret: str, tmp_path: Path) -> Iterator[Callable[..., SutHandle]]:
    """``make_sut("reference", **tuning)`` starts a middleware on the test's state folder
    and registers its webhooks; every one started is stopped after the test."""
    started: list[SutHandle] = []

    def make(kind: str = "reference", port: int = 0, **tuning: Any) -> SutHandle:
        sut = start_sut(kind, sut_env(golive.urls, secret), port=port,
                        state_dir=tmp_path / "state", **{**FAST, **tuning})  # fmt: skip
        started.append(sut)
        register_webhooks(golive.urls, sut.url, secret)
        return sut

    yield make
    for sut in started:
        sut.stop()


def add_fault(estate: Estate, system: str, rule: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{estate.url(system)}/_sim/faults", json=rule,
                          headers=estate.admin_headers, timeout=10)  # fmt: skip
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def clear_faults(estate: Estate, system: str) -> None:
    httpx.delete(f"{estate.url(system)}/_sim/faults", headers=estate.admin_headers,
                 timeout=10).raise_for_status()  # fmt: skip


def redeliver(estate: Estate, system: str, event_type: str) -> str:
    """Send the latest event of ``event_type`` again now; its id."""
    with estate.client(system) as client:
        events = client.get("/events", params={"type": event_type, "limit": 1000}).json()["data"]
    event_id = str(events[-1]["id"])
    response = httpx.post(f"{estate.url(system)}/_sim/deliveries/{event_id}/redeliver",
                          headers=estate.admin_headers, timeout=10)  # fmt: skip
    assert response.is_success, response.text
    return event_id


def delivered(estate: Estate, system: str, event_id: str) -> int:
    """How many attempts of ``event_id`` the receiver acknowledged."""
    response = httpx.get(f"{estate.url(system)}/_sim/deliveries",
                         params={"event_id": event_id}, headers=estate.admin_headers)  # fmt: skip
    return sum(1 for a in response.json()["data"] if a["outcome"] == "delivered")
