"""The library scenarios still compute what their checked-in expected results say."""

from __future__ import annotations

import json

import pytest

from scenarios.catalog import library_names
from scenarios.expected import EXPECTED_DIR, compute, render


@pytest.mark.slow
@pytest.mark.parametrize("name", library_names())
def test_seeded_library_scenario_matches_its_expected_result(name):
    path = EXPECTED_DIR / f"{name}.json"
    assert path.exists(), f"run python -m scenarios.expected {name}"
    expected = json.loads(path.read_text())
    actual = json.loads(render(compute(name)))
    assert actual == expected, (
        f"{name}: the model's result changed; if that is intended, review the difference "
        "and run `python -m scenarios.expected` to update the expected file"
    )


def test_a_changed_result_is_caught(tmp_path, monkeypatch):
    import scenarios.expected as expected

    monkeypatch.setattr(expected, "EXPECTED_DIR", tmp_path)
    expected.write_expected(["webhook-down"])
    stored = json.loads((tmp_path / "webhook-down.json").read_text())
    assert stored == json.loads(render(compute("webhook-down")))
    stored["points"][0]["passed"] = not stored["points"][0]["passed"]
    assert stored != json.loads(render(compute("webhook-down")))
