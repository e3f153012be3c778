"""The estate clock over five threads-mode simulators: one instant, steps that settle."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from golive.estateclock import EstateClock
from simulators.estate import Estate, running_estate


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    with running_estate() as running:
        yield running


@pytest.fixture
def clock(estate: Estate) -> Iterator[EstateClock]:
    estate.reset()
    with EstateClock(estate.urls, estate.admin_headers) as c:
        yield c


def _busy(estate: Estate, seconds: float, every_s: float = 0.02) -> threading.Thread:
    """A stand-in SUT that keeps calling the CRM for ``seconds`` (returns once it has begun)."""
    begun = threading.Event()

    def work() -> None:
        with estate.client("crm") as crm:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                crm.get("/accounts")
                begun.set()
                time.sleep(every_s)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    assert begun.wait(10)
    return thread


def test_the_estate_moves_to_one_instant_and_its_jobs_run_on_the_way(estate, clock):
    with estate.client("billing") as billing:
        customer = billing.post("/customers", json={
            "name": "Acme", "email": "ap@acme.test", "payment_method": "4242424242424242",
        }).json()  # fmt: skip
        clock.freeze("2031-01-01T00:00:00Z")
        billing.post(
            "/subscriptions",
            json={
                "customer_id": customer["id"],
                "items": [{"sku": "SEAT", "quantity": 1, "unit_amount_minor": 1000}],
            },
        ).raise_for_status()
        clock.resume()  # running again: the advance freezes it and lets it run afterwards
        result = clock.advance(days=40)
        assert result.ok
        assert result.failures == []
        assert result.runs["billing"]["invoice_run"] == 1
        invoices = billing.get("/invoices").json()["data"]
    assert [i["status"] for i in invoices] == ["paid"]
    views = clock.show()
    assert len({v["now"][:16] for v in views.values()}) == 1  # one instant (running since)
    assert all(not v["frozen"] for v in views.values())
    # A quiet estate with little due jumps from due instant to due instant.
    assert result.steps < 20
    assert result.jumps >= 1


def test_every_step_is_taken_without_jumps(clock):
    clock.freeze("2031-03-10T00:00:00Z")
    result = clock.advance(days=1, step_s=3600, jump=False)
    assert (result.steps, result.jumps, result.reached) == (24, 0, "2031-03-11T00:00:00.000000Z")
    assert all(v["frozen"] for v in clock.show().values())  # frozen before, frozen after


def test_a_step_waits_for_the_estate_to_be_quiet(estate, clock):
    clock.freeze("2031-03-10T00:00:00Z")
    started = time.monotonic()
    sut = _busy(estate, seconds=0.6)
    result = clock.advance(hours=2, quiet_s=0.1)
    sut.join()
    assert result.ok
    assert result.waits > 0
    assert time.monotonic() - started >= 0.6


def test_a_step_that_cannot_settle_is_named(estate, clock):
    clock.freeze("2031-03-10T00:00:00Z")
    sut = _busy(estate, seconds=2.0, every_s=0.01)
    result = clock.advance(hours=3, quiet_s=0.2, settle_limit_s=0.5)
    sut.join()
    assert not result.ok
    assert result.unsettled is not None
    assert "did not settle within 0.5 s" in result.unsettled
    assert result.unsettled.startswith("the step to 2031-03-10T")
    assert "crm:" in result.unsettled


def test_work_only_the_middleware_can_see_holds_the_step_and_the_jump(clock):
    """A webhook accepted but not yet acted on: the simulators look idle, the SUT is not."""
    clock.freeze("2031-03-10T00:00:00Z")
    started = time.monotonic()
    asked: list[float] = []

    def busy_for_half_a_second() -> bool:
        asked.append(time.monotonic() - started)
        return time.monotonic() - started < 0.5

    result = clock.advance(days=3, quiet_s=0.05, outside_busy=busy_for_half_a_second)
    assert result.ok
    assert time.monotonic() - started >= 0.5
    assert asked
    assert result.waits > 0
    # While it was busy nothing was jumped: the first steps went an hour at a time.
    assert result.steps > result.jumps
    still = clock.advance(hours=3, quiet_s=0.05, settle_limit_s=0.3, outside_busy=lambda: True)
    assert not still.ok
    assert still.unsettled is not None
    assert "the middleware still has work in hand" in still.unsettled


def test_a_target_in_the_past_is_refused(clock):
    clock.freeze("2031-03-10T00:00:00Z")
    with pytest.raises(ValueError, match="in the past"):
        clock.advance(to="2031-03-01T00:00:00Z")


def test_work_a_reaction_made_due_within_the_step_runs_before_the_step_settles(estate, clock):
    from golive.estateclock import AdvanceResult, parse_utc

    clock.freeze("2031-03-10T00:00:00Z")
    with estate.client("billing") as billing:  # a reaction that backdates a subscription
        customer = billing.post("/customers", json={
            "name": "Acme", "email": "ap@acme.test", "payment_method": "4242424242424242",
        }).json()  # fmt: skip
        billing.post("/subscriptions", json={
            "customer_id": customer["id"], "start_date": "2031-01-15",
            "items": [{"sku": "SEAT", "quantity": 1, "unit_amount_minor": 1000}],
        }).raise_for_status()  # fmt: skip
    views = clock.show()
    assert views["billing"]["next_due_at"] == "2031-02-15T00:00:00.000000Z"
    end = parse_utc("2031-03-10T00:00:00Z").timestamp()
    result = AdvanceResult("", "")
    views = clock._settle(end, views, quiet_s=0.0, limit_s=10, result=result)
    assert result.ok
    assert result.runs["billing"] == {"invoice_run": 1}
    assert views["billing"]["next_due_at"] == "2031-03-15T00:00:00.000000Z"
