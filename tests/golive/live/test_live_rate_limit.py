"""A ``rate_limit`` fault under compression: a live run at speed 1200 with half of the
profile's deals refuses the share of the offered load the scenario file means, because
the rule's rate is multiplied by speed x kept fraction (docs/live-scenarios.md, "Rate
limits under compression"); bounded (about 12 wall seconds) and on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from golive.estateclock import parse_utc
from golive.live.plan import make_plan
from golive.live.runner import LiveOptions, LiveResult, run_live
from scenarios.oracle import Slos
from scenarios.spec import ScenarioSpec
from simulators.estate import Estate

pytestmark = [pytest.mark.slow, pytest.mark.live]

SPEED = 1200.0
SHARE_TOLERANCE = 0.35  # relative; stated in docs/live-scenarios.md
_CALLS_PER_DEAL = 4.0  # ERP calls the reference middleware makes per deal (measured below)
_DEALS = 12
_START_MIN, _MINUTES = 60, 140
_SCENARIO: dict[str, Any] = {
    "name": "rate-limit-live", "seed": 4, "start": "2030-06-03T08:00:00Z",
    "duration_hours": 4, "drain_hours": 0, "sample_interval_s": 60,
    "arrivals": {"baseline_deals_per_hour": 6, "business_hours": None,
                 "month_end": {"multiplier": 1}, "quarter_end": {"multiplier": 1}},
}  # fmt: skip


def _erp_calls(run: LiveResult) -> list[dict[str, Any]]:
    """The middleware's business calls on the ERP (they carry the deal as correlation id)."""
    return [
        r
        for r in run.journals["erp"]
        if r.get("correlation_id") and not r["path"].startswith(("/_sim", "/oauth"))
    ]


def _spec(file_rate: float) -> ScenarioSpec:
    # A burst of 4 takes one deal's ERP calls at once (see docs/live-scenarios.md).
    fault = {"system": "erp", "kind": "rate_limit", "start_offset_minutes": _START_MIN,
             "duration_minutes": _MINUTES,
             "params": {"requests_per_s": file_rate, "burst": 4}}  # fmt: skip
    return ScenarioSpec.model_validate({**_SCENARIO, "faults": [fault]})


@pytest.fixture(scope="module")
def squeezed(estate: Estate) -> tuple[LiveResult, float]:
    """A run whose file lets half of the ERP load through while the rule is on."""
    probe = _spec(1.0)
    drawn = make_plan(probe, speed=SPEED, max_deals=_DEALS).drawn
    load_per_s = _CALLS_PER_DEAL * drawn / (probe.duration_hours * 3600.0)
    file_rate = 0.5 * load_per_s
    estate.reset()
    options = LiveOptions(speed=SPEED, max_deals=_DEALS, targets=dict(estate.urls),
                          slos=Slos(close_to_order_s=probe.horizon_s), invoice_run=False,
                          drain_limit_s=10.0)  # fmt: skip
    return run_live(_spec(file_rate), options), file_rate


def test_the_throttle_refuses_the_share_of_the_offered_load_the_file_means(
    squeezed: tuple[LiveResult, float],
) -> None:
    run, file_rate = squeezed
    assert run.verdict.ok, [v.message for v in run.verdict.violations]
    # The rule's window on the wall clock: when the driver added and removed it.
    (on,) = [r["wall_at"] for r in run.journals["erp"] if r["path"] == "/_sim/faults"
             and r["method"] == "POST"]  # fmt: skip
    (off,) = [r["wall_at"] for r in run.journals["erp"] if r["path"].startswith("/_sim/faults/")
              and r["method"] == "DELETE"]  # fmt: skip
    calls = _erp_calls(run)
    ok = [r for r in calls if r["status"] != 429]
    refused = [r for r in calls if r["status"] == 429]
    assert refused, "the rule refused nothing"
    assert all(on <= r["wall_at"] <= off for r in refused)
    window = run.plan.windows[0]
    # What the file means: the profile's ERP load is calls-per-deal x deals per second.
    per_deal = len(ok) / len(run.deals)
    load_per_s = per_deal * run.plan.drawn / (run.plan.spec.duration_hours * 3600.0)
    expected = min(1.0, file_rate / load_per_s)
    # Live: the load the deals closed inside the window offered, and what got through then.
    in_window = {d.opportunity_id for d in run.deals if on <= _closed_wall(run, d) < off}
    offered = [r for r in ok if r["correlation_id"] in in_window]
    admitted = [r for r in ok if on <= r["wall_at"] < off]
    # The run kept pace: the window lasted on the wall what the speed makes of it.
    assert run.plan.wall_s(window.end_s - window.start_s) == pytest.approx(off - on, abs=0.3)
    assert len(admitted) / len(offered) == pytest.approx(expected, rel=SHARE_TOLERANCE)


def _closed_wall(run: LiveResult, deal: Any) -> float:
    offset = (parse_utc(deal.closed_at) - run.plan.estate_start).total_seconds()
    return run.started_at + run.plan.wall_s(offset)
