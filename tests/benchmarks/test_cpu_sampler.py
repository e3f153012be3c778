from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from benchmarks._cpu import CpuSampler, core_busy_seconds, cpu_seconds

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_seconds_counts_this_process_working():
    before = cpu_seconds(os.getpid())
    _spin(0.2)
    after = cpu_seconds(os.getpid())
    assert before is not None
    assert after is not None
    assert after - before >= 0.15
    assert cpu_seconds(2**22 + 12345) is None  # no such process
    assert core_busy_seconds(0) is not None
    assert core_busy_seconds(4096) is None


def test_the_sampler_splits_cpu_time_between_windows():
    with CpuSampler({"me": os.getpid()}, {"core 0": 0}, interval_s=0.02) as sampler:
        t0 = time.time()
        time.sleep(0.3)
        t1 = time.time()
        _spin(0.3)
        t2 = time.time()
    idle, busy = sampler.between(t0, t1), sampler.between(t1, t2)
    assert idle["me"] is not None
    assert busy["me"] is not None
    assert idle["me"] < 0.1
    assert busy["me"] >= 0.2
    assert set(busy) == {"me", "core 0"}
