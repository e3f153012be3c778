"""The shared fault vocabulary: kinds, params per kind, and the rule /_sim/faults takes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lifecycle.faults import (
    EVENT_KINDS,
    FAULT_KINDS,
    PARAMS_BY_KIND,
    WIRE_KINDS,
    FaultSpec,
    check_params,
    default_error_code,
)


def test_every_kind_is_either_a_wire_or_an_event_kind_and_has_its_params():
    assert set(WIRE_KINDS) | set(EVENT_KINDS) == set(FAULT_KINDS)
    assert not set(WIRE_KINDS) & set(EVENT_KINDS)
    assert set(PARAMS_BY_KIND) == set(FAULT_KINDS)
    assert "drop" in WIRE_KINDS
    assert "webhook_down" in EVENT_KINDS


def test_a_param_of_another_kind_is_refused_naming_it_and_the_params_the_kind_takes():
    with pytest.raises(ValueError, match=r"params\.retry_after: not a param of kind outage"):
        check_params("outage", {"retry_after": 5})
    with pytest.raises(ValueError, match=r"params\.status: must be between 400 and 599"):
        check_params("error", {"status": 200})
    with pytest.raises(ValueError, match=r"params\.burst: must be a number"):
        check_params("rate_limit", {"burst": True})
    check_params("latency", {"extra_ms": 50})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params"),
        ({"p50_ms": 200}, "params.p99_ms"),
        ({"p50_ms": 300, "p99_ms": 100}, "params.p99_ms"),
        ({"p50_ms": 0, "p99_ms": 100}, "params.p50_ms"),
        ({"min_ms": 5, "max_ms": 1}, "params.max_ms"),
        ({"fixed_ms": 10, "min_ms": 1, "max_ms": 2}, "params"),
        ({"fixed_ms": -1}, "params.fixed_ms"),
    ],
)
def test_a_latency_rule_needs_exactly_one_whole_shape(params, field):
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        FaultSpec(kind="latency", params=params)


@pytest.mark.parametrize(
    "params", [{"fixed_ms": 10}, {"extra_ms": 10}, {"min_ms": 1, "max_ms": 2},
               {"p50_ms": 200, "p99_ms": 2000}],
)  # fmt: skip
def test_each_latency_shape_is_accepted(params):
    assert FaultSpec(kind="latency", params=params).params == params


def test_error_codes_are_machine_codes_and_default_from_the_status():
    with pytest.raises(ValidationError, match=r"params\.code"):
        FaultSpec(kind="error", params={"code": "Not A Code"})
    assert default_error_code(503) == "service_unavailable"
    assert default_error_code(418) == "injected_error"


def test_a_lost_response_mode_is_error_or_timeout():
    assert FaultSpec(kind="lost_response", params={"mode": "timeout"}).params["mode"] == "timeout"
    with pytest.raises(ValidationError, match=r"params\.mode"):
        FaultSpec(kind="lost_response", params={"mode": "sometimes"})


@pytest.mark.parametrize("path", ["sales-orders", "/a/{", "/a/{id", "/a b", "/a/{1x}"])
def test_a_match_path_must_be_a_path_template_or_glob(path):
    with pytest.raises(ValidationError, match=r"match\.path"):
        FaultSpec.model_validate({"kind": "drop", "match": {"path": path}})


def test_a_method_is_upper_cased_and_a_window_needs_time_zones_and_order():
    spec = FaultSpec.model_validate({"kind": "drop", "match": {"method": "post"}})
    assert spec.match.method == "POST"
    with pytest.raises(ValidationError, match="time zone"):
        FaultSpec.model_validate({"kind": "drop", "window": {"start": "2026-03-31T09:00:00"}})
    with pytest.raises(ValidationError, match="after start"):
        FaultSpec.model_validate(
            {"kind": "drop", "window": {"start": "2026-03-31T09:00:00Z",
                                        "end": "2026-03-31T08:00:00Z"}}
        )  # fmt: skip
    with pytest.raises(ValidationError, match="not both"):
        FaultSpec.model_validate(
            {"kind": "drop", "window": {"end": "2026-03-31T09:00:00Z", "duration_s": 5}}
        )


def test_event_kinds_are_part_of_the_vocabulary():
    assert FaultSpec(kind="delay", params={"delay_s": 5}).kind == "delay"
