"""Wall-clock pacing at a speed a team would use: a live run of a few simulated hours
compressed to about 12 wall seconds closes its deals and opens and closes its fault
windows at the compressed instants, read from the simulators' journals (``wall_at``);
docs/live-scenarios.md, "Pacing"."""

from __future__ import annotations

from typing import Any

import pytest

from golive.live.runner import LiveOptions, LiveResult, run_live
from scenarios.oracle import Slos
from scenarios.spec import ScenarioSpec
from simulators.estate import Estate

pytestmark = [pytest.mark.slow, pytest.mark.live]

SPEED = 1200.0  # 20 simulated minutes per wall second: 4 h in 12 s
EARLY_S = 0.0  # nothing happens before its compressed instant
# Nor later than this after it: an item right behind a deal waits for that deal's calls
# (0.2-0.35 s here, while the middleware reacts); the median deal is on time to within
# TYPICAL_S. Both stated in docs/live-scenarios.md, "Pacing".
LATE_S = 0.5
TYPICAL_S = 0.1
_DEALS = 8
_SCENARIO = {
    "name": "pacing", "seed": 3, "start": "2030-06-03T08:00:00Z",
    "duration_hours": 4, "drain_hours": 0, "sample_interval_s": 60,
    "arrivals": {"baseline_deals_per_hour": 4, "business_hours": None,
                 "month_end": {"multiplier": 1}, "quarter_end": {"multiplier": 1}},
    "faults": [
        {"system": "erp", "kind": "outage", "start_offset_minutes": 70, "duration_minutes": 50,
         "params": {"retry_after_s": 1}},
        {"system": "support", "kind": "latency", "start_offset_minutes": 150,
         "duration_minutes": 40, "params": {"fixed_ms": 5}},
    ],
}  # fmt: skip


def _journal(run: LiveResult, system: str, method: str, path: str) -> list[dict[str, Any]]:
    rows = [r for r in run.journals[system] if r["method"] == method and r["path"].startswith(path)]
    return sorted(rows, key=lambda r: r["wall_at"])


@pytest.fixture(scope="module")
def paced(estate: Estate) -> LiveResult:
    estate.reset()
    spec = ScenarioSpec.model_validate(_SCENARIO)
    # The orders held by the outage are late by design: the run judges them by the horizon.
    options = LiveOptions(speed=SPEED, max_deals=_DEALS, targets=dict(estate.urls),
                          slos=Slos(close_to_order_s=spec.horizon_s), invoice_run=False,
                          drain_limit_s=5.0)  # fmt: skip
    return run_live(spec, options)


def test_deals_are_closed_at_their_compressed_instants(paced: LiveResult) -> None:
    run = paced
    assert len(run.deals) == _DEALS
    assert not run.unclosed
    # The driver's first call for a deal is its opportunity, made by the sales rep.
    opened = _journal(run, "crm", "POST", "/opportunities")
    assert len(opened) == _DEALS
    late = []
    for offset_s, row in zip(run.plan.arrivals_s, opened, strict=True):
        due = offset_s / SPEED
        at = row["wall_at"] - run.started_at
        assert due - EARLY_S <= at <= due + LATE_S, (offset_s, due, at)
        late.append(at - due)
    assert sorted(late)[len(late) // 2] <= TYPICAL_S, late
    assert run.max_lag_s <= LATE_S  # the run kept to the wall clock throughout
    assert run.plan.wall_s(run.plan.horizon_s) == pytest.approx(12.0)
    assert run.verdict.ok, [v.message for v in run.verdict.violations]


def test_fault_windows_open_and_close_at_their_compressed_instants(paced: LiveResult) -> None:
    run = paced
    added: dict[str, dict[str, float]] = {}
    for system in ("erp", "support"):
        (post,) = _journal(run, system, "POST", "/_sim/faults")
        (delete,) = _journal(run, system, "DELETE", "/_sim/faults/")
        added[system] = {"on": post["wall_at"] - run.started_at,
                         "off": delete["wall_at"] - run.started_at}  # fmt: skip
    for window in run.plan.windows:
        seen = added[window.system]
        for edge, offset_s in (("on", window.start_s), ("off", window.end_s)):
            due = offset_s / SPEED
            assert due - EARLY_S <= seen[edge] <= due + LATE_S, (window.system, edge, due, seen)
    # The outage met the middleware inside its window, and only there.
    refused = [
        r for r in run.journals["erp"] if r.get("fault") and not r["path"].startswith("/_sim")
    ]
    assert refused
    for row in refused:
        assert added["erp"]["on"] <= row["wall_at"] - run.started_at <= added["erp"]["off"]
