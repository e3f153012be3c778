"""The table of benchmarks/load.py: verdicts from the paced run, noise said (no servers)."""

from __future__ import annotations

from typing import Any

from benchmarks.load import markdown


def _run(rps: float, p99: int, others: float | None) -> dict[str, Any]:
    cpu = {"window_s": 30.0, "core_share": 0.55, "cpu_ms_per_request": 0.5,
           "server_core_busy_share": 0.6, "others_on_server_core_share": others,
           "locust_core_share": 0.3, "load_core_busy_share": 0.35,
           "by_system": {"crm": {"cpu_s": 3.0, "core_share": 0.1, "requests": 6000,
                                 "cpu_ms_per_request": 0.5}}}  # fmt: skip
    return {"users": 300, "rps": rps, "p50_ms": 4, "p95_ms": 12, "p99_ms": p99,
            "failures": 0, "seconds": 30.0, "server_cpu": cpu, "think_scale": 0.5,
            "by_request": [{"request": "GET crm /accounts/[id]", "requests": 6000,
                            "failures": 0, "p50_ms": 4, "p95_ms": 12, "p99_ms": p99}]}  # fmt: skip


def _table(paced: dict[str, Any]) -> str:
    env = {"date": "2026-12-01", "git_commit": "abc", "cpu_model": "cpu", "nproc": 2,
           "loadavg_at_start": [0.1], "versions": {"locust": "2.47.0"}, "pinned": True,
           "command": "python benchmarks/load.py"}  # fmt: skip
    mix = {"target_rps": 1100, "paced": paced, "capacity": _run(2000, 300, 0.0)}
    return markdown({"environment": env, "mix": mix})


def _verdict(table: str) -> str:
    line = next(x for x in table.splitlines() if "paced at 1,100 req/s" in x)
    return line.rsplit("|", 2)[1].strip()


def test_the_paced_run_passes_at_the_rate_within_the_p99():
    table = _table(_run(1090, 41, 0.02))
    assert _verdict(table) == "PASS"
    assert "| crm | 200 | 0.1 | 0.5 |" in table
    assert "| GET crm /accounts/[id] | 6000 | 0 | 4 | 12 | 41 |" in table


def test_a_missed_rate_or_p99_fails_and_a_shared_core_is_said():
    assert _verdict(_table(_run(950, 20, 0.0))) == "FAIL"
    assert _verdict(_table(_run(1100, 51, None))) == "FAIL"
    assert _verdict(_table(_run(1100, 90, 0.4))) == (
        "FAIL (not conclusive: other processes took 40% of core 0)"
    )
