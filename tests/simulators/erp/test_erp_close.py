"""Month-end close on the clock: months after the start close on schedule, earlier ones never."""

from __future__ import annotations

import pytest

from simulators.erp.closing import month_name
from simulators.kit.runtime import SimConfig
from simulators.testing import sim_client
from tests.simulators.erp.conftest import Erp

pytestmark = pytest.mark.anyio


def _months(erp: Erp) -> list[str]:
    year, month = map(int, erp.this_period.split("-"))
    start = year * 12 + month - 1
    return [month_name(start + n) for n in (-1, 0, 1, 2)]


async def _post_each(erp: Erp, months: list[str]) -> None:
    customer = await erp.customer()
    for name in months:
        await erp.invoice(customer["id"], 100, posting_date=f"{name}-10")


async def test_months_close_on_the_5th_at_18h_and_a_month_before_the_start_stays_open(erp):
    before, first, second, third = _months(erp)
    await _post_each(erp, [before, first, second])
    await erp.call("POST", "/_sim/clock/freeze", 200, json={})
    moved = await erp.call("POST", "/_sim/clock/advance", 200, json={"to": f"{third}-10T00:00:00Z"})
    assert moved["ran"]["runs"]["period_close"] == 2
    status = {p["name"]: (p["status"], p["closed_at"])
              for p in (await erp.call("GET", "/periods", 200))["data"]}  # fmt: skip
    assert status == {
        before: ("open", None),
        first: ("closed", f"{second}-05T18:00:00.000000Z"),
        second: ("closed", f"{third}-05T18:00:00.000000Z"),
    }
    # Reopened by a controller, a month stays open: the clock closes each month once.
    await erp.call("POST", f"/periods/{first}/reopen", 200)
    await erp.call("POST", "/_sim/clock/advance", 200, json={"seconds": 40 * 86_400})
    assert (await erp.call("GET", f"/periods/{first}", 200))["status"] == "open"


async def test_period_close_hours_none_switches_the_close_off():
    async with sim_client("erp", SimConfig(options={"period_close_hours": None})) as client:
        erp = Erp(client)
        _, first, second, _ = _months(erp)
        await _post_each(erp, [first])
        clock = await erp.call("GET", "/_sim/clock", 200)
        assert clock["next_job"] != "period_close"
        await erp.call("POST", "/_sim/clock/advance", 200, json={"seconds": 70 * 86_400})
        assert (await erp.call("GET", f"/periods/{first}", 200))["status"] == "open"
        assert second  # the month after passed too
