"""The reference middleware's pattern pieces on their own: breaker, Retry-After wait, store."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from tenacity import RetryCallState, Retrying

from examples.reference_middleware.resilience import (
    Breaker,
    BreakerOpen,
    Permanent,
    Transient,
    classify,
    wait_retry_after,
)
from examples.reference_middleware.store import Store


def _answer(status: int, code: str = "x", **headers: str) -> httpx.Response:
    request = httpx.Request("POST", "http://erp/sales-orders")
    return httpx.Response(status, headers=headers, json={"code": code}, request=request)


def test_the_breaker_opens_after_failures_in_a_row_and_one_trial_closes_it() -> None:
    breaker = Breaker("erp", failures=3, reset_s=0.05)
    for _ in range(3):
        breaker.before()
        breaker.failure()
    assert breaker.state == "open"
    with pytest.raises(BreakerOpen):
        breaker.before()
    time.sleep(0.06)
    assert breaker.state == "half_open"
    breaker.before()  # the trial goes through ...
    with pytest.raises(BreakerOpen):
        breaker.before()  # ... and nothing else while it runs
    breaker.success()
    assert breaker.state == "closed"


def test_a_failed_trial_opens_the_breaker_again() -> None:
    breaker = Breaker("erp", failures=1, reset_s=0.05)
    breaker.failure()
    time.sleep(0.06)
    breaker.before()
    breaker.failure()
    assert breaker.state == "open"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [(429, "x", Transient), (503, "x", Transient), (500, "x", Transient),
     (409, "idempotency_in_progress", Transient), (409, "duplicate_external_id", Permanent),
     (422, "x", Permanent), (404, "x", Permanent)],
)  # fmt: skip
def test_failures_are_classified(status: int, code: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        classify(_answer(status, code))


def test_the_wait_honours_retry_after_capped_and_backs_off_with_jitter_otherwise() -> None:
    wait = wait_retry_after(initial=0.5, cap=10)
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = 3
    state.set_exception((Transient, Transient("503", retry_after_s=7), None))
    assert wait(state) == 7
    state.set_exception((Transient, Transient("503", retry_after_s=60), None))
    assert wait(state) == 10
    with pytest.raises(Transient) as caught:
        classify(_answer(503, **{"Retry-After": "2"}))
    assert caught.value.retry_after_s == 2
    state.set_exception((Transient, Transient("timeout"), None))
    assert all(0 <= wait(state) <= 2.0 for _ in range(50))  # 0.5 * 2**2


def test_the_store_dedupes_across_a_reopen_and_replays_dead_letters(tmp_path: Path) -> None:
    event = {"id": "evt_crm_000000000001", "type": "opportunity.closed_won", "data": {}}
    store = Store(tmp_path / "inbox.sqlite3")
    assert store.add("crm", event, "opp_1") is True
    job = store.claim()
    assert job is not None
    store.close()  # a crash while it runs
    store = Store(tmp_path / "inbox.sqlite3")
    assert store.add("crm", event, "opp_1") is False
    assert store.recover() == 1
    job = store.claim()
    assert job is not None
    store.bury(job.event_id, "gave up")
    assert [j.error for j in store.dead()] == ["gave up"]
    assert store.replay("evt_crm_000000000999") == 0
    assert store.replay() == 1
    assert store.counts()["pending"] == 1
    store.close()


def test_an_upsert_that_loses_a_race_returns_the_winner() -> None:
    """Another process created the object between our look-up and our POST: the 409
    ``duplicate_external_id`` makes the upsert look again instead of dead-lettering."""
    import asyncio

    from examples.reference_middleware.clients import Systems
    from examples.reference_middleware.settings import SYSTEMS, Settings

    winner = {"id": "cust_1", "external_id": "acc_1"}
    lookups: list[int] = []

    def erp(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if request.method == "GET":
            lookups.append(1)
            return httpx.Response(200, json={"data": [winner] if len(lookups) > 1 else []})
        assert request.headers["Idempotency-Key"] == "evt_1:erp-customer"
        return httpx.Response(409, json={"code": "duplicate_external_id"})

    settings = Settings(urls={s: f"http://{s}" for s in SYSTEMS}, client_id="golive",
                        client_secret="golive-secret", webhook_secret="whsec_x")  # fmt: skip

    async def run() -> object:
        systems = Systems(settings)
        systems._http = httpx.AsyncClient(transport=httpx.MockTransport(erp))
        systems._tokens._http = systems._http
        try:
            return await systems.upsert(
                "erp", "/customers", "acc_1", {"name": "Acme"}, key="evt_1:erp-customer", corr="o"
            )
        finally:
            await systems.close()

    assert asyncio.run(run()) == winner
    assert len(lookups) == 2
