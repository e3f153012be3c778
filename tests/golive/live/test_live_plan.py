"""The live run's plan: timeline compression, the volume kept, the fault timeline as
control-plane rules, and what of a scenario file a live run reports as not applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from golive.live.plan import (
    CALENDAR_CYCLE_YEARS,
    MAX_WIRE_RATE,
    control_rule,
    estate_shift,
    given_keys,
    make_plan,
    not_applied,
    wire_rate,
)
from golive.live.report import oracle_slos
from lifecycle.faults import FAULT_KINDS, FaultSpec
from scenarios.catalog import load_scenario
from scenarios.oracle import Slos
from scenarios.spec import FaultRule, ScenarioSpec

_NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_timeline_is_compressed_by_the_speed_factor() -> None:
    plan = make_plan(load_scenario("erp-outage"), speed=3600, estate_now=_NOW)
    assert plan.wall_s(3600.0) == pytest.approx(1.0)
    assert plan.wall_s(plan.horizon_s) == pytest.approx((72 + 12) * 3600 / 3600)
    assert plan.describe()["planned_wall_s"] == pytest.approx(84.0)


def test_a_past_scenario_runs_on_the_same_calendar_28_years_later() -> None:
    spec = load_scenario("erp-outage")  # 2026-03-29, a Sunday
    plan = make_plan(spec, estate_now=_NOW)
    assert plan.shift_years == CALENDAR_CYCLE_YEARS
    assert plan.estate_start == datetime(2054, 3, 29, tzinfo=UTC)
    assert plan.estate_start.weekday() == spec.start.weekday()
    assert estate_shift(datetime(2030, 1, 1, tzinfo=UTC), _NOW) == 0
    assert estate_shift(spec.start, datetime(2054, 4, 2, tzinfo=UTC)) == 2 * CALENDAR_CYCLE_YEARS


def test_max_deals_keeps_the_profile_shape_and_the_seed_decides() -> None:
    spec = load_scenario("erp-outage")
    plan = make_plan(spec, max_deals=40, estate_now=_NOW)
    assert len(plan.arrivals_s) == 40
    assert plan.drawn > 30_000  # the profile's 10x quarter end, before the cap
    assert plan.arrivals_s == sorted(plan.arrivals_s)
    outage = plan.windows[0]
    inside = [t for t in plan.arrivals_s if outage.start_s <= t < outage.end_s]
    assert inside, "evenly spread deals keep some inside the peak-hour outage"
    again = make_plan(spec, max_deals=40, estate_now=_NOW)
    assert again.arrivals_s == plan.arrivals_s
    other = make_plan(spec.model_copy(update={"seed": 12}), max_deals=40, estate_now=_NOW)
    assert other.arrivals_s != plan.arrivals_s


def test_scale_thins_the_arrivals_before_the_cap() -> None:
    spec = load_scenario("duplicate-storm")
    full = make_plan(spec, max_deals=100_000, estate_now=_NOW)
    tenth = make_plan(spec, scale=0.1, max_deals=100_000, estate_now=_NOW)
    assert len(full.arrivals_s) == full.drawn
    assert 0.07 * full.drawn < len(tenth.arrivals_s) < 0.13 * full.drawn
    assert tenth.kept_fraction == pytest.approx(len(tenth.arrivals_s) / tenth.drawn)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_fault_kind_maps_to_a_control_plane_rule_in_its_window(kind: str) -> None:
    params = {
        "latency": {"extra_ms": 200},
        "error": {"status": 502},
        "rate_limit": {"requests_per_s": 2, "burst": 1},
        "outage": {"retry_after_s": 60},
        "lost_response": {"mode": "error"},
        "slow_body": {"extra_ms": 100},
        "delay": {"delay_s": 30},
    }.get(kind, {})
    rule = FaultRule(
        system="erp",
        kind=kind,
        start_offset_minutes=90,
        duration_minutes=30,
        probability=0.5,
        match={"method": "POST", "path": "/sales-orders"},
        params=params,
    )
    body = control_rule(rule, datetime(2054, 3, 29, tzinfo=UTC), seed=7)
    FaultSpec.model_validate(body)  # what POST /_sim/faults accepts
    assert body["kind"] == kind
    assert body["window"] == {"start": "2054-03-29T01:30:00Z", "end": "2054-03-29T02:00:00Z"}
    assert body["match"] == {"method": "POST", "path": "/sales-orders"}
    assert body["probability"] == 0.5
    assert body.get("params", {}) == params
    assert body["seed"] == 7


def test_the_events_policy_becomes_duplicate_and_reorder_rules_for_the_whole_run() -> None:
    plan = make_plan(load_scenario("duplicate-storm"), estate_now=_NOW)
    by_kind = {(w.kind, w.system): w for w in plan.windows}
    assert {k for k, _ in by_kind} == {"duplicate", "reorder"}
    dup = by_kind[("duplicate", "crm")]
    assert dup.rule["probability"] == 0.10
    assert by_kind[("reorder", "billing")].rule["probability"] == 0.05
    assert (dup.start_s, dup.end_s) == (0.0, plan.horizon_s)
    assert dup.source == "events.duplicate_rate"


def test_the_erp_outage_becomes_an_outage_rule_with_its_retry_after() -> None:
    plan = make_plan(load_scenario("erp-outage"), estate_now=_NOW)
    (outage,) = plan.windows
    assert (outage.system, outage.kind) == ("erp", "outage")
    assert (outage.start_s, outage.end_s) == (3720 * 60.0, 3840 * 60.0)
    assert outage.rule["params"] == {"retry_after_s": 60}
    assert outage.rule["window"]["start"] == "2054-03-31T14:00:00Z"


def test_what_only_the_model_can_use_is_reported_and_marked_when_the_file_sets_it() -> None:
    spec = ScenarioSpec.model_validate({"name": "x", "middleware": {"workers": 3}})
    rows = {r["field"]: r for r in not_applied(spec, given_keys({"middleware": {"workers": 3}}))}
    assert rows["middleware.workers"]["set_by_file"] == "true"
    assert rows["middleware.workers"]["value"] == "3"
    assert "its own workers" in rows["middleware.workers"]["why"]
    assert rows["middleware.retry"]["set_by_file"] == "false"
    assert {"systems.erp", "flows.close_to_order.steps", "events.reorder_delay_s"} <= set(rows)


def test_the_library_files_name_what_they_set_that_live_mode_cannot_use() -> None:
    plan = make_plan(
        load_scenario("duplicate-storm"),
        estate_now=_NOW,
        given=[
            "middleware.workers",
            "middleware.idempotency",
            "events.reorder_delay_s",
            "events.duplicate_rate",
        ],
    )
    marked = {r["field"] for r in plan.not_applied if r["set_by_file"] == "true"}
    assert marked == {"middleware.workers", "middleware.idempotency", "events.reorder_delay_s"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"speed": 0}, "--speed must be above 0"),
        ({"speed": -5}, "--speed must be above 0"),
        ({"scale": 0}, "--scale must be above 0"),
        ({"scale": 1.5}, "--scale must be above 0"),
        ({"max_deals": 0}, "--max-deals must be at least 1"),
    ],
)
def test_bad_speed_or_volume_is_refused_naming_the_option(
    options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_plan(load_scenario("erp-outage"), estate_now=_NOW, **options)  # type: ignore[arg-type]


def test_a_flow_the_file_judges_by_percentile_is_allowed_the_whole_run_per_deal() -> None:
    spec = load_scenario("erp-outage")  # p99 close_to_order <= 4 h
    slos = oracle_slos(spec, Slos(close_to_order_s=900, order_to_entitlement_s=600))
    assert slos.close_to_order_s == spec.horizon_s
    assert slos.order_to_entitlement_s == 600  # golive.toml's, untouched


def test_a_rate_limit_is_scaled_by_the_speed_and_the_kept_fraction_of_the_load() -> None:
    spec = load_scenario("rate-limit-squeeze")  # ERP 0.5/s and support 0.3/s, burst 1
    plan = make_plan(spec, speed=3600, max_deals=40, estate_now=_NOW)
    assert plan.drawn > 10_000
    factor = 3600 * 40 / plan.drawn  # simulated s per wall s x the share of deals kept
    assert plan.load_factor == pytest.approx(factor)
    erp, support = plan.windows
    assert erp.rule["params"] == {"requests_per_s": pytest.approx(0.5 * factor), "burst": 1}
    assert support.rule["params"]["requests_per_s"] == pytest.approx(0.3 * factor)
    # Twice the speed and half the deals: the same wall rate, the same squeeze.
    other = make_plan(spec, speed=7200, max_deals=20, estate_now=_NOW)
    assert other.windows[0].rule["params"]["requests_per_s"] == pytest.approx(0.5 * factor)
    described = plan.describe()["faults"][0]
    assert described["params"]["requests_per_s"] == pytest.approx(0.5 * factor)


def test_a_rate_limit_without_a_rate_takes_the_models_default_and_the_wire_bound() -> None:
    assert wire_rate({}, 10.0) == {"requests_per_s": 10.0, "burst": 1}
    assert wire_rate({"requests_per_s": 4.5}, 2.0) == {"requests_per_s": 9.0, "burst": 5}
    assert wire_rate({"requests_per_s": 50, "burst": 3}, 1e6)["requests_per_s"] == MAX_WIRE_RATE
    assert wire_rate({"requests_per_s": 0.001}, 1e-6)["requests_per_s"] == 0.001
    FaultSpec.model_validate({"kind": "rate_limit", "params": wire_rate({}, 1e9)})
