"""The library scenarios still compute what their checked-in expected results say."""

from __future__ import annotations

import copy
import json

import pytest

from scenarios.catalog import library_names
from scenarios.expected import ABS_TOL, EXPECTED_DIR, REL_TOL, compare, compute, render


def _load(name: str) -> dict:
    path = EXPECTED_DIR / f"{name}.json"
    assert path.exists(), f"run python -m scenarios.expected {name}"
    return json.loads(path.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("name", library_names())
def test_seeded_library_scenario_matches_its_expected_result(name):
    actual = json.loads(render(compute(name)))
    differences = compare(_load(name), actual)
    assert not differences, (
        f"{name}: the model's result changed ({'; '.join(differences[:5])}); if that is "
        "intended, review the difference and run `python -m scenarios.expected`"
    )


def _first_latency(summary: dict) -> tuple[str, dict]:
    flows = summary["points"][0]["flows"]
    flow = next(f for f, m in flows.items() if m["latency_p50_s"]["mean"] > 0.1)
    return flow, flows[flow]["latency_p50_s"]


def test_a_value_moved_beyond_the_tolerance_fails_the_comparison_naming_the_field():
    stored = _load("webhook-down")
    perturbed = copy.deepcopy(stored)
    flow, stat = _first_latency(perturbed)
    stat["mean"] *= 1 + 10 * REL_TOL
    differences = compare(stored, perturbed)
    assert len(differences) == 1
    assert f"points.0.flows.{flow}.latency_p50_s.mean" in differences[0]


def test_a_value_moved_within_the_tolerance_still_matches():
    stored = _load("webhook-down")
    perturbed = copy.deepcopy(stored)
    _flow, stat = _first_latency(perturbed)
    stat["mean"] *= 1 + REL_TOL / 10
    perturbed["points"][0]["totals"]["dead_letters"]["mean"] += ABS_TOL / 10
    assert compare(stored, perturbed) == []


def test_a_changed_verdict_or_a_missing_field_fails_the_comparison():
    stored = _load("webhook-down")
    flipped = copy.deepcopy(stored)
    flipped["points"][0]["passed"] = not flipped["points"][0]["passed"]
    assert any("points.0.passed" in d for d in compare(stored, flipped))
    missing = copy.deepcopy(stored)
    del missing["points"][0]["totals"]["retries"]
    assert any("points.0.totals.retries" in d for d in compare(stored, missing))
