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


def _runs(*rps: float) -> dict:
    runs = [{"rps": r, "p50_ms": 2.0, "p99_ms": 9.0, "non_2xx": 0, "socket_errors": 0}
            for r in rps]  # fmt: skip
    return faults.summary(runs)


def test_the_engine_is_judged_against_the_same_simulator_without_it():
    http = {"servers": {"off": "a", "on": "b", "idle_rule": "c"}}
    for kind, on in (("get", (960, 940)), ("post", (800, 820))):
        http[kind] = {f"off_{kind}": _runs(1000, 1000), f"on_{kind}": _runs(*on),
                      f"idle_rule_{kind}": _runs(500, 500)}  # fmt: skip
    rows = faults.table_rows({"http": http})
    verdicts = {row[0]: (row[2], row[3]) for row in rows}
    assert verdicts["4: GET engine on vs off"] == ("0.95 x off", "PASS")
    assert verdicts["4: POST engine on vs off"] == ("0.81 x off", "FAIL")
    assert verdicts["4: GET engine idle rule vs off"][1] == "n/a"
