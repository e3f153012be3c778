"""Scenario files: the library validates, and bad input is refused naming the field."""

from __future__ import annotations

import re

import pytest

from scenarios.catalog import ScenarioError, library_names, load_scenario, resolve
from scenarios.spec import FAULT_KINDS

REQUIRED = {"quarter-end-spike", "erp-outage", "duplicate-storm", "webhook-down",
            "rate-limit-squeeze"}  # fmt: skip


def test_library_holds_the_required_scenarios_each_with_slos():
    assert set(library_names()) >= REQUIRED
    for name in library_names():
        spec = load_scenario(name)
        assert spec.slos, name
        assert spec.name == name


def test_erp_outage_is_two_hours_at_the_quarter_end_peak():
    spec = load_scenario("erp-outage")
    (outage,) = spec.faults
    assert (outage.system, outage.kind, outage.duration_minutes) == ("erp", "outage", 120)
    assert spec.arrivals.quarter_end.multiplier == 10


def test_duplicate_storm_duplicates_ten_and_reorders_five_percent():
    spec = load_scenario("duplicate-storm")
    assert (spec.events.duplicate_rate, spec.events.reorder_rate) == (0.10, 0.05)


def test_bad_field_value_is_refused_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmiddleware:\n  workers: 0\n")
    with pytest.raises(ScenarioError, match=r"middleware\.workers"):
        load_scenario(str(bad))


def test_unknown_field_is_refused_naming_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmiddleware:\n  wrokers: 4\n")
    with pytest.raises(ScenarioError, match=r"middleware\.wrokers"):
        load_scenario(str(bad))


def test_fault_kind_outside_the_control_plane_vocabulary_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nfaults:\n  - {system: erp, kind: meteor, start_offset_minutes: 0,"
        " duration_minutes: 5}\n"
    )
    with pytest.raises(ScenarioError, match=r"faults\.0\.kind"):
        load_scenario(str(bad))
    assert "webhook_down" in FAULT_KINDS


def test_flow_step_naming_an_unknown_operation_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nflows:\n  close_to_order: {steps: [erp.teleport]}\n")
    with pytest.raises(ScenarioError, match=r"flows\.close_to_order\.steps\.0"):
        load_scenario(str(bad))


def test_set_overrides_a_nested_field():
    spec = load_scenario("erp-outage", ["middleware.workers=16", "faults.0.duration_minutes=30"])
    assert spec.middleware.workers == 16
    assert spec.faults[0].duration_minutes == 30


def test_set_with_unknown_key_names_the_key():
    with pytest.raises(ScenarioError, match=r"middleware\.wrokers"):
        load_scenario("erp-outage", ["middleware.wrokers=3"])


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ScenarioError, match="erp-outage") as err:
        load_scenario("no-such-scenario")
    assert "no-such-scenario" in str(err.value)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("duration_hours=100000000", "duration_hours"),
        ("drain_hours=1000000", "drain_hours"),
        ("seed=-1", "seed"),
        ("seed=4294967296", "seed"),
        ("sample_interval_s=0.001", "sample_interval_s"),
        ("arrivals.baseline_deals_per_hour=1e12", "arrivals.baseline_deals_per_hour"),
        ("arrivals.quarter_end.multiplier=1e6", "arrivals.quarter_end.multiplier"),
        ("arrivals.quarter_end.last_days=400", "arrivals.quarter_end.last_days"),
        ("middleware.workers=1000000", "middleware.workers"),
        ("middleware.timeout_s=1e9", "middleware.timeout_s"),
        ("middleware.retry.max_attempts=100000", "middleware.retry.max_attempts"),
        ("middleware.retry.retry_max_delay_s=1e9", "middleware.retry.retry_max_delay_s"),
        ("middleware.circuit_breaker.open_s=1e9", "middleware.circuit_breaker.open_s"),
        ("events.redelivery_max_delay_s=1e9", "events.redelivery_max_delay_s"),
        ("events.webhook_latency_ms=1e12", "events.webhook_latency_ms"),
        ("systems.erp.concurrency_limit=1e9", "systems.erp.concurrency_limit"),
        ("systems.erp.rate_limit_per_s=1e9", "systems.erp.rate_limit_per_s"),
        ("systems.erp.operations.create_order.p99_ms=1e12",
         "systems.erp.operations.create_order.p99_ms"),
        ("flows.close_to_order.sla_s=1e12", "flows.close_to_order.sla_s"),
        ("faults.0.duration_minutes=1e9", "faults.0.duration_minutes"),
        ("faults.0.start_offset_minutes=1e9", "faults.0.start_offset_minutes"),
        ("faults.0.params.retry_after_s=1000000000", "faults.0.params.retry_after_s"),
        ("slos.0.threshold=1e300", "slos.0.threshold"),
    ],
)  # fmt: skip
def test_numbers_out_of_a_sensible_range_are_refused_naming_the_field(override, field):
    with pytest.raises(ScenarioError, match=re.escape(field)):
        load_scenario("erp-outage", [override])


def test_a_fault_starting_after_the_horizon_is_refused():
    with pytest.raises(ScenarioError, match=r"faults\.0\.start_offset_minutes"):
        load_scenario("erp-outage", ["faults.0.start_offset_minutes=100000"])


def test_arrival_volume_beyond_what_one_replication_can_hold_is_refused():
    with pytest.raises(ScenarioError, match="baseline_deals_per_hour"):
        load_scenario("erp-outage", ["arrivals.baseline_deals_per_hour=900000",
                                     "duration_hours=8000"])  # fmt: skip


def test_sweep_with_unknown_key_names_the_sweep_option():
    from scenarios.runner import make_plan

    spec = load_scenario("erp-outage")
    with pytest.raises(ScenarioError, match=r"^--sweep: unknown key 'nonsense'"):
        make_plan(spec, 1, "nonsense=1,2")


@pytest.mark.parametrize("params", [{"retry_after": 60}, {"status": 500}])  # typo; error's
def test_a_param_the_fault_kind_does_not_take_is_refused(tmp_path, params):
    import yaml

    raw = yaml.safe_load(resolve("erp-outage").read_text())
    raw["faults"][0]["params"] = params
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ScenarioError, match=r"faults\.0\.params.*not a param of kind outage"):
        load_scenario(str(path))


def test_an_invoice_run_pickup_needs_a_daily_run_and_a_sane_value(tmp_path):
    """The pickup is a batch's wait (docs/calibration.md): without a daily run there is no
    batch, so a file that sets one is refused rather than silently ignored."""
    path = tmp_path / "pickup.yaml"
    path.write_text("name: p\nevents: {invoice_run: daily, invoice_run_pickup_ms: 180}\n")
    assert load_scenario(str(path)).events.invoice_run_pickup_ms == 180
    path.write_text("name: p\nevents: {invoice_run_pickup_ms: 180}\n")
    with pytest.raises(ScenarioError, match=r"events.*invoice_run 'daily'"):
        load_scenario(str(path))
    path.write_text("name: p\nevents: {invoice_run: daily, invoice_run_pickup_ms: -1}\n")
    with pytest.raises(ScenarioError, match=r"events\.invoice_run_pickup_ms"):
        load_scenario(str(path))
