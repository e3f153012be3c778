"""Scenario files: the library validates, and bad input is refused naming the field."""

from __future__ import annotations

import pytest

from scenarios.catalog import ScenarioError, library_names, load_scenario
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
