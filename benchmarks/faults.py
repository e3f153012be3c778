"""Measure what the always-on parts cost with no fault active: target 4 of docs/benchmarks.md.

Run by hand, never in CI (about three minutes with the defaults)::

    python benchmarks/faults.py
    python benchmarks/faults.py --duration 3 --runs 2 --warmup 1   # a quick look

Four CRM simulator processes, side by side, each pinned to core 0 in turn while wrk
drives it from core 1 (32 connections, ``--latency``), the runs alternating between
them so drift hits all alike:

- ``bare``: ``GOLIVE_BENCH_WITHOUT=fault-engine,journal,event-log,transactions``: no
  fault engine layer, no journal, no event log, no unit of work (a write applies as it
  runs, its Idempotency-Key is saved after the response);
- ``off``: ``GOLIVE_FAULT_ENGINE=0``, only the fault engine layer left out;
- ``on``: as shipped, with no rule (the fault engine, journal, event log and unit of work);
- ``idle_rule``: ``on`` with one rule that never matches (``/nowhere``), so every
  request walks the rule list: the cost of a test that leaves a narrow rule behind.

Each is measured on ``GET /accounts/{id}`` and on ``POST /accounts`` with a unique
Idempotency-Key (the scripts of ``benchmarks/simulators.py``, whose helpers this uses).
Target 4: ``on`` within 10 % of ``bare`` (ratio >= 0.90); ``on`` against ``off`` is the
fault engine's share. Results: ``benchmarks/results/faults.json`` and ``faults.md``
(the table is printed as well).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmarks.simulators as sims  # noqa: E402
from benchmarks.simulators import (  # noqa: E402
    Bench,
    Load,
    Server,
    create_account,
    environment,
    request,
    running,
    summary,
    token,
)

PORTS = {"bare": 19710, "off": 19711, "on": 19712, "idle_rule": 19713}
ENV = {
    "bare": ["GOLIVE_BENCH_WITHOUT=fault-engine,journal,event-log,transactions"],
    "off": ["GOLIVE_FAULT_ENGINE=0"],
    "on": [],
    "idle_rule": [],
}
TARGET_RATIO = 0.90
# (variant, against): the target row first, then what it is made of.
COMPARED = (("on", "bare", True), ("on", "off", False), ("idle_rule", "bare", False))


def _server(variant: str) -> Server:
    port = PORTS[variant]
    argv = ["env", *ENV[variant], sys.executable, "-m", "simulators.serve",
            "crm", "--port", str(port)]  # fmt: skip
    return Server(f"crm-{variant}", argv, port, "/_sim/health")


def _idle_rule(port: int) -> None:
    body = json.dumps({"kind": "error", "match": {"path": "/nowhere"}}).encode()
    status, _, raw = request(
        "POST", port, "/_sim/faults", body, {"Content-Type": "application/json"}
    )
    if status != 201:
        raise RuntimeError(f"adding the idle rule failed: {status} {raw!r}")


def measure(bench: Bench) -> dict[str, Any]:
    servers = {variant: _server(variant) for variant in PORTS}
    out: dict[str, Any] = {}
    with running(*servers.values()):
        tokens = {v: token(p) for v, p in PORTS.items()}
        ids = {v: create_account(p, tokens[v])[0] for v, p in PORTS.items()}
        _idle_rule(PORTS["idle_rule"])
        out["servers"] = {v: s.command for v, s in servers.items()}
        for kind in ("get", "post"):
            loads = {
                f"{v}_{kind}": Load(
                    kind.upper(), p, f"/accounts/{ids[v]}" if kind == "get" else "/accounts",
                    tokens[v], server_pid=servers[v].proc.pid if servers[v].proc else None,
                )
                for v, p in PORTS.items()
            }  # fmt: skip
            res = bench.measure(f"engine {kind}", loads)
            out[kind] = {name: summary(runs) for name, runs in res.items()}
    return out


def table_rows(res: dict[str, Any]) -> list[list[str]]:
    """Per comparison: throughput (wrk) and the server's CPU per request, as ratios.

    On one pinned core a saturated server's throughput is 1 / its CPU per request, and
    that cost does not move with a neighbour's time slices as requests/s do: the verdict
    is on the CPU ratio, the requests/s ratio is shown beside it.
    """
    rows = []
    for kind in ("get", "post"):
        got = res["http"][kind]
        for variant, against, judged in COMPARED:
            s, base = got[f"{variant}_{kind}"], got[f"{against}_{kind}"]
            ratio = s["median_rps"] / base["median_rps"]
            runs = " / ".join(f"{r['rps']:,.0f}" for r in s["runs"])
            base_runs = " / ".join(f"{r['rps']:,.0f}" for r in base["runs"])
            cpu, base_cpu = s.get("median_server_cpu_us"), base.get("median_server_cpu_us")
            cpu_ratio = base_cpu / cpu if cpu and base_cpu else None
            judged_ratio = cpu_ratio if cpu_ratio is not None else ratio
            verdict = ("PASS" if judged_ratio >= TARGET_RATIO else "FAIL") if judged else "n/a"
            cpu_text = (f"; CPU {cpu:.0f} us/request ({against} {base_cpu:.0f})"
                        if cpu_ratio is not None else "")  # fmt: skip
            rows.append([
                f"4: {kind.upper()} {variant.replace('_', ' ')} vs {against}",
                f"{s['median_rps']:,.0f} rps (runs {runs}; {against} "
                f"{base['median_rps']:,.0f}: {base_runs}), p99 {s['median_p99_ms']:.1f} ms "
                f"({against} {base['median_p99_ms']:.1f}){cpu_text}",
                f"{ratio:.2f} x {against} rps"
                + (f", {cpu_ratio:.2f} x by CPU" if cpu_ratio is not None else ""),
                verdict,
            ])  # fmt: skip
    return rows


def markdown(res: dict[str, Any]) -> str:
    env, settings = res["environment"], res["settings"]
    lines = [
        "# What the always-on parts cost with no fault active (docs/benchmarks.md target 4)",
        "",
        f"{env['date']}, commit {env['git_commit']}, {env['cpu_model']}, nproc {env['nproc']}, "
        f"Python {env['python']}, load generator: {env['load_generator']}. Server on core "
        f"{sims.SERVER_CORE}, load on core {sims.LOAD_CORE}; {settings['runs']} runs x "
        f"{settings['duration_s']} s at {settings['connections']} connections after "
        f"{settings['warmup_s']} s warm-up. Target: on >= {TARGET_RATIO:.2f} x bare (fault engine, "
        "journal, event log and unit of work all left out), judged on the server's CPU per "
        "request (a saturated server on one core serves 1 / that); the other rows are its "
        "parts.", "",
        "| what | measured | ratio | result |", "|---|---|---|---|",
    ]  # fmt: skip
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(res)]
    lines += ["", f"Command: `{env['command']}`", "", "Servers:", ""]
    lines += [f"- {v}: `{c}`" for v, c in res["http"]["servers"].items()]
    lines += ["", "Load commands:", ""] + [f"- `{c}`" for c in res.get("load_commands", [])]
    return "\n".join(lines) + "\n"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measured run.")
    parser.add_argument("--runs", type=int, default=2, help="Measured runs per variant (>= 2).")
    parser.add_argument("--warmup", type=int, default=3, help="Warm-up seconds per load.")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--output", default="faults", help="Name of the result files.")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs: docs/benchmarks.md asks for at least 2 runs")
    signal.signal(signal.SIGTERM, _interrupt)  # unwind through the servers' stop
    sims.WARMUP_S = args.warmup
    wrk = shutil.which("wrk")
    if wrk is None:
        sims._say("wrk not found: falling back to the Python load generator")
    bench = Bench(args.duration, args.runs, args.connections, wrk)
    settings = {"duration_s": args.duration, "runs": args.runs, "warmup_s": args.warmup,
                "connections": args.connections, "ports": PORTS}  # fmt: skip
    res: dict[str, Any] = {"environment": environment(wrk), "settings": settings}
    res["http"] = measure(bench)
    res["load_commands"] = bench.commands
    sims.RESULTS.mkdir(parents=True, exist_ok=True)
    (sims.RESULTS / f"{args.output}.json").write_text(json.dumps(res, indent=2) + "\n")
    text = markdown(res)
    (sims.RESULTS / f"{args.output}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
