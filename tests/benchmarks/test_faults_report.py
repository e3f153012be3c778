"""The report of benchmarks/faults.py from a made-up result (no servers, no timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "faults.py"
_spec = importlib.util.spec_from_file_location("benchmarks_faults", _PATH)
assert _spec is not None
assert _spec.loader is not None
faults = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = faults
_spec.loader.exec_module(faults)


def _runs(*rps: float, cpu_us: float | None = None) -> dict:
    runs = [{"rps": r, "p50_ms": 2.0, "p99_ms": 9.0, "non_2xx": 0, "socket_errors": 0}
            for r in rps]  # fmt: skip
    if cpu_us is not None:
        for run in runs:
            run["server_cpu_us"] = cpu_us
    return faults.summary(runs)


def _http(get_on: tuple[float, ...], post_on: tuple[float, ...], cpu: bool) -> dict:
    http: dict = {"servers": {v: v for v in faults.PORTS}}
    for kind, on, on_cpu in (("get", get_on, 105.0), ("post", post_on, 125.0)):
        http[kind] = {
            f"bare_{kind}": _runs(1000, 1000, cpu_us=100.0 if cpu else None),
            f"off_{kind}": _runs(990, 990, cpu_us=101.0 if cpu else None),
            f"on_{kind}": _runs(*on, cpu_us=on_cpu if cpu else None),
            f"idle_rule_{kind}": _runs(500, 500, cpu_us=200.0 if cpu else None),
        }
    return {"http": http}


def test_everything_on_is_judged_against_everything_off_by_requests_per_second():
    rows = faults.table_rows(_http((960, 940), (800, 820), cpu=False))
    verdicts = {row[0]: (row[2], row[3]) for row in rows}
    assert verdicts["4: GET on vs bare"] == ("0.95 x bare rps", "PASS")
    assert verdicts["4: POST on vs bare"] == ("0.81 x bare rps", "FAIL")
    # The parts are reported beside the target, not judged by it.
    assert verdicts["4: GET on vs off"][1] == "n/a"
    assert verdicts["4: POST idle rule vs bare"][1] == "n/a"


def test_with_the_servers_cpu_the_verdict_is_on_cpu_per_request():
    # Requests/s say 0.80 (a noisy neighbour); CPU per request says 100 / 105 = 0.95.
    rows = faults.table_rows(_http((800, 800), (950, 950), cpu=True))
    verdicts = {row[0]: (row[2], row[3]) for row in rows}
    assert verdicts["4: GET on vs bare"] == ("0.80 x bare rps, 0.95 x by CPU", "PASS")
    assert verdicts["4: POST on vs bare"] == ("0.95 x bare rps, 0.80 x by CPU", "FAIL")
    assert "CPU 105 us/request (bare 100)" in rows[0][1]
