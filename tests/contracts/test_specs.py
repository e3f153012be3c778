from __future__ import annotations

import json

import pytest

from contracts.specs import committed_spec, drifted, generated_spec, render
from simulators.registry import SYSTEMS


@pytest.mark.parametrize("system", SYSTEMS)
def test_committed_openapi_matches_the_code(system):
    assert committed_spec(system) is not None, f"run python -m contracts.specs ({system})"
    assert not drifted(system), (
        f"contracts/openapi/{system}.json no longer matches the code: review the change, "
        "then run `python -m contracts.specs` to update the reviewed copy"
    )


def test_drift_is_detected_when_an_operation_changes(tmp_path, monkeypatch):
    import contracts.specs as specs

    spec = generated_spec("crm")
    spec["paths"]["/accounts"]["post"]["responses"].pop("201")
    (tmp_path / "crm.json").write_text(render(spec))
    monkeypatch.setattr(specs, "SPEC_DIR", tmp_path)
    assert specs.drifted("crm")
    (tmp_path / "crm.json").write_text(render(generated_spec("crm")))
    assert not specs.drifted("crm")
    assert json.loads((tmp_path / "crm.json").read_text())["openapi"].startswith("3.1")
