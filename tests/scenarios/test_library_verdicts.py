"""The library's verdicts are the documented ones with the default run (5 replications)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_webhook_down_passes_its_default_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "golive", "scenario", "run", "webhook-down", "--out",
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS: all 3 SLOs met" in done.stdout
