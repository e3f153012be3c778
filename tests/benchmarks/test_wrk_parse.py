"""The wrk output parser of benchmarks/simulators.py (no servers, no timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "simulators.py"
_spec = importlib.util.spec_from_file_location("benchmarks_simulators", _PATH)
assert _spec is not None
assert _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:18101/accounts/acc_629f6fbed82c07cd
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.12ms    1.20ms  41.30ms   91.02%
    Req/Sec     6.27k   412.10     6.90k    70.00%
  Latency Distribution
     50%    4.86ms
     75%    5.10ms
     90%    5.71ms
     99%  850.00us
  62401 requests in 10.00s, 28.21MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   6239.87
Transfer/sec:      2.82MB
"""


def test_wrk_output_gives_rps_percentiles_in_ms_and_errors():
    result = bench.parse_wrk(WRK_OUTPUT)
    assert result["rps"] == pytest.approx(6239.87)
    assert result["requests"] == 62401
    assert result["elapsed_s"] == pytest.approx(10.0)
    assert result["p50_ms"] == pytest.approx(4.86)
    assert result["p99_ms"] == pytest.approx(0.85)
    assert result["max_ms"] == pytest.approx(41.3)
    assert result["non_2xx"] == 7
    assert result["socket_errors"] == 3


def test_wrk_latency_in_seconds_is_converted_to_ms():
    text = WRK_OUTPUT.replace("     99%  850.00us", "     99%    1.25s")
    assert bench.parse_wrk(text)["p99_ms"] == pytest.approx(1250.0)


def test_clean_wrk_run_has_no_errors():
    lines = [
        ln for ln in WRK_OUTPUT.splitlines() if "Socket errors" not in ln and "Non-2xx" not in ln
    ]
    result = bench.parse_wrk("\n".join(lines))
    assert result["non_2xx"] == 0
    assert result["socket_errors"] == 0


def test_output_without_requests_per_second_is_refused():
    with pytest.raises(ValueError, match="Requests/sec"):
        bench.parse_wrk("unable to connect to 127.0.0.1:18101 Connection refused")
