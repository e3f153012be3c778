"""Benchmark target 10: the discrete-event model against raw SimPy, a 1,000,000-deal
quarter, and the speed-up of replications on two processes.

Run by hand: ``python benchmarks/scenarios.py [--quick]``. Writes
``benchmarks/results/scenarios.json`` and ``scenarios.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import simpy

# Run as a script, this file's folder comes first on sys.path and its name would
# shadow the ``scenarios`` package: drop the folder before importing it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from scenarios.catalog import load_scenario  # noqa: E402
from scenarios.model import EstateModel  # noqa: E402
from scenarios.profile import expected_deals  # noqa: E402
from scenarios.runner import make_plan, run_plan  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
logger = logging.getLogger("benchmarks.scenarios")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def raw_simpy_events_per_s(n_events: int = 1_000_000, processes: int = 10) -> float:
    """The ceiling: a trivial SimPy timeout loop, counted the same way as the model."""
    env = simpy.Environment()

    def loop(n: int):  # type: ignore[no-untyped-def]
        for _ in range(n):
            yield env.timeout(1.0)

    for _ in range(processes):
        env.process(loop(n_events // processes))
    started = time.perf_counter()
    peek, step, events = env.peek, env.step, 0
    while peek() < float("inf"):  # the model's loop: SimPy's public API, events counted
        step()
        events += 1
    elapsed = time.perf_counter() - started
    return events / elapsed


def model_events_per_s(name: str = "quarter-end-spike") -> dict[str, float]:
    """One replication of a library scenario: SimPy events per wall second."""
    model = EstateModel(load_scenario(name), 0)
    started, cpu = time.perf_counter(), time.process_time()
    res = model.run()
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {"deals": res.deals, "sim_events": res.sim_events, "wall_s": elapsed,
            "cpu_s": cpu_s, "events_per_s": res.sim_events / elapsed,
            "events_per_cpu_s": res.sim_events / cpu_s}  # fmt: skip


def million_deal_quarter() -> dict[str, float]:
    """A whole quarter (90 days, 10x over the last three) scaled to 1,000,000 deals."""
    overrides = ["start=2026-01-01T00:00:00Z", "duration_hours=2160", "drain_hours=12",
                 "sample_interval_s=600", "middleware.workers=24"]  # fmt: skip
    spec = load_scenario("quarter-end-spike", overrides)
    mean = expected_deals(spec.arrivals, spec.start, spec.duration_hours * 3600)
    base = spec.arrivals.baseline_deals_per_hour * 1_000_000 / mean
    spec = load_scenario(
        "quarter-end-spike", [*overrides, f"arrivals.baseline_deals_per_hour={base}"]
    )
    started, cpu = time.perf_counter(), time.process_time()
    model = EstateModel(spec, 0)
    res = model.run()
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {"deals": res.deals, "sim_events": res.sim_events, "wall_s": elapsed,
            "cpu_s": cpu_s, "events_per_s": res.sim_events / elapsed,
            "close_to_order_p95_s": res.flows["close_to_order"]["latency_p95_s"]}  # fmt: skip


def replication_speedup(replications: int = 4) -> dict[str, float]:
    """Wall time of N replications inline vs on a 2-process pool (spawn start-up included)."""
    plan = make_plan(load_scenario("erp-outage"), replications)
    t0 = time.perf_counter()
    one = run_plan(plan, workers=1)
    t1 = time.perf_counter()
    two = run_plan(plan, workers=2)
    t2 = time.perf_counter()
    assert [r.to_dict() for r in one] == [r.to_dict() for r in two]
    return {"replications": replications, "one_process_s": t1 - t0, "two_processes_s": t2 - t1,
            "speedup": (t1 - t0) / (t2 - t1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-deal quarter")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raw = [raw_simpy_events_per_s() for _ in range(2)]
    model = [model_events_per_s() for _ in range(2)]
    raw_eps = float(np.median(raw))
    model_eps = float(np.median([m["events_per_s"] for m in model]))
    model_cpu_eps = float(np.median([m["events_per_cpu_s"] for m in model]))
    quarter = None if args.quick else million_deal_quarter()
    speed = replication_speedup()
    result = {
        "raw_simpy_events_per_s": raw,
        "model_runs": model,
        "model_events_per_s_median": model_eps,
        "model_events_per_cpu_s_median": model_cpu_eps,
        "model_vs_raw_ratio": model_eps / raw_eps,
        "million_deal_quarter": quarter,
        "replication_speedup": speed,
        "targets": {"model_events_per_s": 250_000, "quarter_wall_s": 120, "speedup": 1.7},
        "meta": {
            "python": platform.python_version(),
            "simpy": simpy.__version__,
            "numpy": np.__version__,
            "cpu": _cpu_model(),
            "nproc": os.cpu_count(),
            "command": " ".join([sys.executable, *sys.argv]),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    rows = [
        ("raw SimPy timeout loop (events/s, median of 2)", f"{raw_eps:,.0f}", "ceiling"),
        ("estate model, quarter-end-spike (events/s, median of 2)", f"{model_eps:,.0f}",
         ">= 250,000"),
        ("estate model, per CPU second (events/s, median of 2)", f"{model_cpu_eps:,.0f}",
         ">= 250,000"),
        ("model / raw SimPy", f"{model_eps / raw_eps:.2f}", "-"),
    ]  # fmt: skip
    if quarter:
        label = f"one replication, quarter of {quarter['deals']:,} deals (wall s)"
        value = (f"{quarter['wall_s']:.1f} (CPU {quarter['cpu_s']:.1f} s, "
                 f"{quarter['events_per_s']:,.0f} ev/s)")  # fmt: skip
        rows.append((label, value, "<= 120"))
    rows.append((f"{speed['replications']} replications, 1 vs 2 processes (speed-up)",
                 f"{speed['speedup']:.2f}x ({speed['one_process_s']:.1f} s vs "
                 f"{speed['two_processes_s']:.1f} s)", ">= 1.7x"))  # fmt: skip
    table = ["| measure | result | target |", "|---|---|---|"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    table.append("")
    table.append(f"Load average at the end: {os.getloadavg()[0]:.1f}. "
                 f"CPU: {result['meta']['cpu']}, nproc {result['meta']['nproc']}, "
                 f"Python {result['meta']['python']}, SimPy {simpy.__version__}, "
                 f"numpy {np.__version__}. Command: `{result['meta']['command']}`")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scenarios.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "scenarios.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
