"""The clock never reaches an instant it cannot format, and never moves back."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from simulators.kit.clock import CLOCK_LIMIT, SimClock, format_instant, parse_instant
from simulators.testing import SimHarness, sim_client

pytestmark = pytest.mark.anyio


@pytest.fixture
async def crm():
    async with sim_client("crm") as client:
        yield SimHarness(client)


@pytest.mark.parametrize(
    "at",
    [
        1_796_146_517.0,
        1_796_146_517.4970559,
        1_796_146_517.9999995,  # rounds up into the next second
        1_796_146_518.2500005,
        1_796_146_517.0000005,  # half a microsecond: to even
        1_796_146_517.0000015,
        32_503_679_999.999999,
    ],
)
def test_now_iso_is_now_in_the_one_format_with_datetimes_rounding(at):
    clock = SimClock()
    clock._frozen_at = at  # an instant with a fraction finer than the microsecond
    assert clock.now_iso() == format_instant(clock.now())
    assert clock.now_iso() == format_instant(clock.now())  # the cached second


def test_now_iso_moves_with_the_clock_across_seconds():
    clock = SimClock()
    clock.freeze(datetime(2031, 11, 23, 9, 30, 59, 999_999, tzinfo=UTC))
    assert clock.now_iso() == "2031-11-23T09:30:59.999999Z"
    clock.advance(0.000001)
    assert clock.now_iso() == "2031-11-23T09:31:00.000000Z"
    clock.advance(86_400)
    assert clock.now_iso() == "2031-11-24T09:31:00.000000Z"


def test_the_clock_refuses_to_pass_its_limit_and_stays_where_it_was():
    clock = SimClock()
    clock.freeze(datetime(2999, 12, 31, tzinfo=UTC))
    before = clock.now_iso()
    with pytest.raises(ValueError, match="3000-01-01"):
        clock.advance(86400)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    for bad in (math.inf, math.nan):
        with pytest.raises(ValueError, match="finite"):
            clock.advance(bad)
    assert clock.now_iso() == before
    clock.advance(86399)
    assert clock.now() < CLOCK_LIMIT


def test_freezing_in_the_past_is_refused_and_in_the_future_advances():
    clock = SimClock()
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="forward"):
        clock.freeze(datetime(2000, 1, 1, tzinfo=UTC))
    assert clock.now_iso() == "2030-01-01T00:00:00.000000Z"
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))  # where it stands: fine
    clock.freeze(datetime(2031, 1, 1, tzinfo=UTC))
    assert clock.now_iso() == "2031-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="3000-01-01"):
        clock.freeze(datetime(9999, 12, 31, tzinfo=UTC))


@pytest.mark.parametrize(
    "body",
    [
        {"to": "9999-12-31T23:00:00Z"},
        {"to": "9999-12-31T23:59:59-05:00"},  # past datetime's range once in UTC
        {"to": "3000-01-01T00:00:00Z"},
    ],
)
async def test_advancing_past_the_limit_is_422_and_the_simulator_keeps_working(crm, body):
    body = await crm.refused("POST", "/_sim/clock/advance", 422, "invalid_clock_move", json=body)
    assert "3000-01-01" in body["detail"]
    await crm.call("GET", "/_sim/health", 200)
    await crm.call("POST", "/accounts", 201, json={"name": "Still here"})


async def test_repeated_advances_stop_at_the_limit(crm):
    await crm.call("POST", "/_sim/clock/freeze", 200, json={"at": "2999-01-01T00:00:00Z"})
    await crm.refused(
        "POST", "/_sim/clock/advance", 422, "invalid_clock_move",
        json={"seconds": 10 * 365 * 86400},
    )  # fmt: skip
    assert (await crm.call("GET", "/_sim/clock", 200))["now"].startswith("2999-01-01")


async def test_freezing_in_the_past_is_422_not_a_silent_freeze_at_now(crm):
    now = (await crm.call("GET", "/_sim/clock", 200))["now"]
    body = await crm.refused(
        "POST", "/_sim/clock/freeze", 422, "invalid_clock_move",
        json={"at": "2000-01-01T00:00:00Z"},
    )  # fmt: skip
    assert "forward" in body["detail"]
    clock = await crm.call("GET", "/_sim/clock", 200)
    assert clock["frozen"] is False
    assert clock["now"] >= now


async def test_freezing_in_the_future_advances_then_freezes(crm):
    clock = await crm.call("POST", "/_sim/clock/freeze", 200, json={"at": "2040-02-29T12:00:00Z"})
    assert (clock["now"], clock["frozen"]) == ("2040-02-29T12:00:00.000000Z", True)
    await crm.refused(
        "POST", "/_sim/clock/freeze", 422, "invalid_clock_move",
        json={"at": "2040-02-29T12:00:00Z", "frozen": False},
    )  # fmt: skip


def test_a_frozen_clock_stands_on_the_instant_it_writes():
    """Deadlines are written to the microsecond; a frozen clock must read back as written,
    or a target exactly reached flips to breached by a fraction of a microsecond."""
    clock = SimClock()
    for fraction in (0.0000001, 0.0000004, 0.0000005, 0.0000009):
        clock.reset()
        clock.freeze()
        clock._frozen_at = clock.timestamp() + fraction  # as time.time() gives it
        clock.freeze()
        for seconds in (61 * 60, 1379 * 60, 0.000001, 86_400.5):
            clock.advance(seconds)
            assert clock.timestamp() == parse_instant(clock.now_iso()).timestamp()
