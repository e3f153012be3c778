from __future__ import annotations

import pytest

from golive.errors import UsageProblem
from golive.loadslo import LoadSlos, evaluate, parse_slos, percentile


def _entry(method, name, times, failures=0):
    hist: dict[str, int] = {}
    for t in times:
        hist[str(t)] = hist.get(str(t), 0) + 1
    return {"method": method, "name": name, "requests": len(times), "failures": failures,
            "total_response_time_ms": sum(times), "max_response_time_ms": max(times),
            "response_times": hist}  # fmt: skip


def test_percentile_follows_locust():
    hist = {1: 90, 50: 9, 400: 1}
    assert percentile(hist, 100, 0.5) == 1
    assert percentile(hist, 100, 0.95) == 50
    assert percentile(hist, 100, 0.999) == 400


def test_fault_responses_are_counted_apart_from_latency_and_errors():
    result = {"entries": [
        _entry("POST", "/quotes", [5] * 99 + [20]),
        _entry("POST", "/quotes [fault]", [3000] * 40, failures=40),
    ], "errors": []}  # fmt: skip
    summary = evaluate(result, LoadSlos(p95_ms=100, error_rate=0.01))
    assert summary["passed"]
    assert summary["total"]["requests"] == 100
    assert summary["total"]["failures"] == 0
    assert summary["faults"]["requests"] == 40
    assert summary["faults"]["by_request"][0]["request"] == "POST /quotes"


def test_a_slow_request_type_misses_its_own_threshold():
    result = {"entries": [_entry("GET", "/a", [5] * 100), _entry("POST", "/b", [300] * 100)]}
    summary = evaluate(result, LoadSlos(p95_ms=1000, p95_ms_by_request={"POST /b": 200}))
    missed = [c["name"] for c in summary["checks"] if not c["passed"]]
    assert missed == ["p95 POST /b"]
    assert not summary["passed"]


def test_errors_over_the_rate_and_no_traffic_fail():
    failing = {"entries": [_entry("GET", "/a", [5] * 100, failures=2)]}
    assert not evaluate(failing, LoadSlos(error_rate=0.01))["passed"]
    assert evaluate(failing, LoadSlos(error_rate=0.05))["passed"]
    assert not evaluate({"entries": []}, LoadSlos())["passed"]


def test_slos_from_the_table_and_overrides():
    slos = parse_slos({"p95_ms": 250, "p95_ms_by_request": {"POST /quotes": 100}},
                      ["error_rate=0.02", "p99_ms=900", "p95_ms:GET /quotes/[id]=50"])  # fmt: skip
    assert slos.p95_ms == 250
    assert slos.error_rate == 0.02
    assert slos.p99_ms == 900
    assert slos.p95_ms_by_request == {"POST /quotes": 100, "GET /quotes/[id]": 50}
    assert parse_slos({}, ["p95_ms=off"]).p95_ms is None


@pytest.mark.parametrize(
    ("table", "overrides", "message"),
    [
        ({"p59_ms": 1}, [], "unknown load SLO 'p59_ms'"),
        ({"p95_ms": "fast"}, [], "p95_ms must be a number"),
        ({"error_rate": 2}, [], "between 0 and 1"),
        ({}, ["p95_ms"], "expected key=value"),
        ({}, ["p95_ms=500, error_rate=0.02"], "repeat --slo"),
    ],
)
def test_bad_slos_are_refused(table, overrides, message):
    with pytest.raises(UsageProblem, match=message):
        parse_slos(table, overrides)


def test_a_per_request_slo_naming_no_request_is_a_missed_check():
    result = {"entries": [_entry("GET", "/a", [5] * 100)]}
    summary = evaluate(result, LoadSlos(p95_ms_by_request={"NOPE x": 5, "GET /a": 50}))
    missed = [c for c in summary["checks"] if not c["passed"]]
    assert [(c["name"], c["detail"]) for c in missed] == [("p95 NOPE x", "matched no request")]
    assert not summary["passed"]
    assert summary["slos_naming_no_request"] == ["NOPE x"]
