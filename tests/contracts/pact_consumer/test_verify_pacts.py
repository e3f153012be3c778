"""The committed consumer pacts verify against the real simulators, with the user's command.

``golive contracts verify`` with no pact options reads ``contracts/pacts/``: the states go
to each simulator's ``/_sim/provider-states``, messages are the newest events of their
type on the feeds (docs/contracts.md). How a mismatch is reported is tested with the
command's own tests (tests/contracts/test_verify*.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golive.cli import exit_status
from lifecycle.systems import SYSTEMS
from simulators.testing import free_base_port
from tests.contracts.pact_consumer.write import COMMITTED

pytestmark = [pytest.mark.slow, pytest.mark.live]


def test_every_committed_pact_verifies_against_the_simulators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(COMMITTED.parent.parent)  # the command's default: ./contracts/pacts
    report = tmp_path / "verify.json"
    junit = tmp_path / "verify.xml"
    argv = ["contracts", "verify", "--base-port", str(free_base_port()),
            "--json", str(report), "--junit", str(junit)]  # fmt: skip
    code = exit_status(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    interactions = sum(
        len(json.loads(path.read_text())["interactions"]) for path in COMMITTED.glob("*.json")
    )
    assert out.rstrip().endswith(f"{interactions} interaction(s) verified")
    assert junit.read_text().count("<testcase ") == interactions
    reports = json.loads(report.read_text())
    assert sorted(r["provider"] for r in reports) == sorted(SYSTEMS)
    assert all(r["ok"] for r in reports)
