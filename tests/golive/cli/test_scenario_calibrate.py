"""``golive scenario calibrate`` on bad input: one line, exit 2 (docs/calibration.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golive.cli import exit_status

_ENTRY = {"time": "2030-01-31T09:00:00.000000Z", "client_id": "c", "method": "POST",
          "path": "/sales-orders", "status": 201, "duration_ms": 1.5, "correlation_id": "opp_1",
          "idempotency_key": None, "replayed": False, "fault": None, "wall_at": 1.0}  # fmt: skip


def _raw(folder: Path, entries: list[dict[str, object]], notes: dict[str, str]) -> Path:
    raw = folder / "raw"
    raw.mkdir(parents=True)
    manifest = {"format": "golive-raw/1", "notes": notes, "systems": {"erp": {}}}
    (raw / "manifest.json").write_text(json.dumps(manifest))
    (raw / "erp.journal.json").write_text(json.dumps({"system": "erp", "data": entries}))
    return folder


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str], says: str) -> None:
    assert exit_status(["scenario", "calibrate", *argv]) == 2
    captured = capsys.readouterr()
    message = (captured.out + captured.err).strip()
    assert says in message
    assert "\n" not in message
    assert "Traceback" not in message


def test_missing_folder_no_raw_data_or_too_few_samples_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ["--out", str(tmp_path / "c.yaml"), "--scenario", "erp-outage"]
    _one_line_exit_2(["--from", str(tmp_path / "nope"), *out], capsys, "no such report folder")
    _one_line_exit_2(["--from", str(tmp_path), *out], capsys, "no raw/manifest.json")
    empty = _raw(tmp_path / "empty", [], {})
    _one_line_exit_2(["--from", str(empty), *out], capsys, "raw journals are empty")
    few = _raw(tmp_path / "few", [_ENTRY], {})
    _one_line_exit_2(["--from", str(few), *out], capsys, "too few samples")
    assert not (tmp_path / "c.yaml").exists()


def test_the_base_scenario_must_be_named_and_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _raw(tmp_path / "run", [_ENTRY], {})
    out = ["--out", str(tmp_path / "c.yaml")]
    _one_line_exit_2(["--from", str(run), *out], capsys, "give --scenario NAME")
    _one_line_exit_2(["--from", str(run), *out, "--scenario", "no-such"], capsys,
                     "unknown scenario 'no-such'")  # fmt: skip


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_status(["scenario", "calibrate", "--help"]) == 0
    text = capsys.readouterr().out
    assert "Example: golive scenario calibrate --from" in text
    assert "--scenario" in text
