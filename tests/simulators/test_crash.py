"""kill -9 under load, 20 times: nothing acknowledged is lost, nothing is half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.crash import run_crash_check


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_acknowledged_writes_survive_twenty_kill_9s(tmp_path: Path) -> None:
    report = run_crash_check(tmp_path, kills=20, seed=7)
    assert report.problems == []
    assert report.kills == 20
    # The check checked something: writes, replays of saved keys, retries cut short.
    assert report.acknowledged >= 100
    assert report.replays_checked >= 20
    assert report.objects > 0
    assert report.events >= report.objects
