"""Measure durable writes (target 5 of docs/benchmarks.md) side by side in one run.

Run by hand, never in CI::

    python benchmarks/durable.py
    python benchmarks/durable.py --duration 3 --runs 2 --warmup 1

Four servers pinned to core 0 (``taskset -c 0``), wrk on core 1, 32 connections, the
same machinery and Lua scripts as ``benchmarks/simulators.py``: the bare Starlette app
(``benchmarks/baseline_app.py``), the CRM simulator in memory, and the CRM simulator
with ``--state-dir`` at ``--durability full`` (every acknowledged create fsynced, group
commit) and at ``normal``. Measured, alternating so drift hits all alike:

- ``POST /accounts`` with a unique Idempotency-Key per request on each (the simulators
  reset before each run), next to ``POST`` on the baseline;
- ``GET /accounts/{id}`` on the in-memory and the full-durability simulator, next to
  ``GET`` on the baseline (reads on disk-backed state must not slow down).

Targets: in-memory create within 10 % of 0.43 x bare POST; durable create (full)
>= 3,000 acknowledged creates/s and >= 0.6 x the in-memory create; GET on the durable
simulator >= 0.40 x bare GET. Results: ``benchmarks/results/durable.json`` and
``durable.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout first: this folder would shadow nothing else

from benchmarks.simulators import (  # noqa: E402
    LOAD_CORE,
    RESULTS,
    SERVER_CORE,
    Bench,
    Load,
    _interrupt,
    _say,
    baseline_server,
    check_get,
    create_account,
    environment,
    reset,
    running,
    sim_server,
    summary,
    token,
)

PORT_BASE = 18230
PORTS = {"baseline": PORT_BASE, "memory": PORT_BASE + 1, "full": PORT_BASE + 2,
         "normal": PORT_BASE + 3}  # fmt: skip
_BASELINE_GET = "/accounts/acc_0000000000000000"
MEMORY_RATIO_GOAL = 0.43  # in-memory create / bare POST, from docs/benchmarks.md
DURABLE_RPS_MIN, DURABLE_RATIO_MIN, GET_RATIO_MIN = 3000, 0.6, 0.40


def _servers(state_root: Path, body_bytes: int) -> dict[str, Any]:
    servers = {"baseline": baseline_server(PORTS["baseline"], body_bytes),
               "memory": sim_server(PORTS["memory"])}  # fmt: skip
    for mode in ("full", "normal"):
        server = sim_server(PORTS[mode])
        server.name = f"crm-{mode}"
        server.argv += ["--state-dir", str(state_root / mode), "--durability", mode]
        servers[mode] = server
    return servers


def _retarget(loads: dict[str, Load], port: int, toks: dict[str, str]) -> None:
    """A reset emptied the simulator on ``port``: its GET load reads a new account."""
    mode = next(m for m, p in PORTS.items() if p == port)
    for name, load in loads.items():
        if load.method == "GET" and load.port == port:
            new_id, _ = create_account(port, toks[mode])
            loads[name] = Load("GET", port, f"/accounts/{new_id}", toks[mode])


def _measure(
    bench: Bench, loads: dict[str, Load], warmup_s: int, toks: dict[str, str]
) -> dict[str, Any]:
    sims = [PORTS[m] for m in ("memory", "full", "normal")]
    for name, load in loads.items():
        _say(f"warm-up {name} {warmup_s} s")
        bench.drive(load, warmup_s, record=False)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in loads}
    for run in range(1, bench.runs + 1):
        for name in list(loads):
            load = loads[name]
            if load.method == "POST" and load.port in sims:
                reset(load.port)  # each create run starts on an empty store (and database)
                _retarget(loads, load.port, toks)
            result = bench.drive(loads[name], bench.duration_s)
            results[name].append(result)
            _say(
                f"run {run} {name}: {result['rps']:,.0f} rps, p50 {result.get('p50_ms', 0):.2f} "
                f"ms, p99 {result.get('p99_ms', 0):.2f} ms, non-2xx {result['non_2xx']}"
            )
    return {name: summary(runs) for name, runs in results.items()}


def _verdicts(m: dict[str, Any]) -> list[list[str]]:
    rps = {name: s["median_rps"] for name, s in m.items()}
    memory = rps["memory_post"] / rps["baseline_post"]
    full = rps["full_post"]
    rows = [
        ["bare Starlette POST", f"{rps['baseline_post']:,.0f}", "1.00 x", "-", "baseline"],
        ["in-memory create (unit of work)", f"{rps['memory_post']:,.0f}",
         f"{memory:.2f} x bare POST", f"within 10 % of {MEMORY_RATIO_GOAL} x",
         "PASS" if memory >= MEMORY_RATIO_GOAL * 0.9 else "FAIL"],
        ["durable create, synchronous=FULL", f"{full:,.0f}",
         f"{full / rps['memory_post']:.2f} x in-memory",
         f">= {DURABLE_RPS_MIN:,}/s and >= {DURABLE_RATIO_MIN} x in-memory",
         "PASS" if full >= DURABLE_RPS_MIN and full >= DURABLE_RATIO_MIN * rps["memory_post"]
         else "FAIL"],
        ["durable create, synchronous=NORMAL", f"{rps['normal_post']:,.0f}",
         f"{rps['normal_post'] / rps['memory_post']:.2f} x in-memory", "-", "reported"],
        ["bare Starlette GET", f"{rps['baseline_get']:,.0f}", "1.00 x", "-", "baseline"],
        ["GET, in memory", f"{rps['memory_get']:,.0f}",
         f"{rps['memory_get'] / rps['baseline_get']:.2f} x bare GET", "-", "reported"],
        ["GET, durable (FULL)", f"{rps['full_get']:,.0f}",
         f"{rps['full_get'] / rps['baseline_get']:.2f} x bare GET", f">= {GET_RATIO_MIN} x",
         "PASS" if rps["full_get"] >= GET_RATIO_MIN * rps["baseline_get"] else "FAIL"],
    ]  # fmt: skip
    names = ("baseline_post", "memory_post", "full_post", "normal_post", "baseline_get",
             "memory_get", "full_get")  # fmt: skip
    for row, name in zip(rows, names, strict=True):
        row[1] += f" (p99 {m[name]['worst_p99_ms']:.1f} ms, non-2xx {m[name]['non_2xx']})"
    return rows


def markdown(res: dict[str, Any]) -> str:
    env, settings = res["environment"], res["settings"]
    head = ["what", "median rps", "ratio", "goal", "result"]
    lines = [
        "# Durable writes (docs/benchmarks.md target 5)", "",
        f"{env['date']}, commit {env['git_commit']}, {env['cpu_model']}, nproc {env['nproc']}, "
        f"Python {env['python']}, load generator: {env['load_generator']}. Servers on core "
        f"{SERVER_CORE}, load on core {LOAD_CORE}; {settings['runs']} runs x "
        f"{settings['duration_s']} s at {settings['connections']} connections after "
        f"{settings['warmup_s']} s warm-up.", "",
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
    ]  # fmt: skip
    lines += ["| " + " | ".join(row) + " |" for row in res["table"]]
    lines += ["", f"Group commit: {res['group_commit']}", "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()), "",
              f"Command: `{env['command']}`", "", "Servers:", ""]  # fmt: skip
    lines += [f"- {name}: `{command}`" for name, command in res["servers"].items()]
    lines += ["", "Load commands:", ""] + [f"- `{c}`" for c in res["load_commands"]]
    return "\n".join(lines) + "\n"


def _group_commit(port: int) -> str:
    from benchmarks.simulators import request

    text = request("GET", port, "/metrics")[2].decode()
    found = {
        line.split("{")[0]: line.rsplit(" ", 1)[1]
        for line in text.splitlines()
        if line.startswith("golive_storage_")
    }
    commits = float(found.get("golive_storage_commits_total", 0))
    change_sets = float(found.get("golive_storage_change_sets_total", 0))
    per = change_sets / commits if commits else 0.0
    return f"{change_sets:,.0f} change sets in {commits:,.0f} commits ({per:.1f} per fsync)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measured run.")
    parser.add_argument("--runs", type=int, default=2, help="Measured runs per endpoint (>= 2).")
    parser.add_argument("--warmup", type=int, default=3, help="Warm-up seconds per endpoint.")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--port-base",
        type=int,
        default=PORT_BASE,
        help="The four servers listen on this port and the next three.",
    )
    args = parser.parse_args(argv)
    for offset, mode in enumerate(PORTS):
        PORTS[mode] = args.port_base + offset
    if args.runs < 2:
        parser.error("--runs: docs/benchmarks.md asks for at least 2 runs")
    signal.signal(signal.SIGTERM, _interrupt)
    wrk = shutil.which("wrk")
    bench = Bench(args.duration, args.runs, args.connections, wrk)
    res: dict[str, Any] = {
        "environment": environment(wrk),
        "settings": {"duration_s": args.duration, "runs": args.runs, "warmup_s": args.warmup,
                     "connections": args.connections},
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="golive-durable-bench-") as root:
        servers = _servers(Path(root), body_bytes=400)
        with running(*servers.values()):
            toks = {m: token(PORTS[m]) for m in ("memory", "full", "normal")}
            target, size = create_account(PORTS["full"], toks["full"])
            memory_target, _ = create_account(PORTS["memory"], toks["memory"])
            check_get(PORTS["full"], toks["full"], target)
            servers["baseline"].stop()  # again with the body size of the simulator's GET
            servers["baseline"] = baseline_server(PORTS["baseline"], size)
            # Started (and always stopped) here: running() above holds the first one.
            with running(servers["baseline"]):
                loads = {
                    "baseline_post": Load("POST", PORTS["baseline"], "/accounts"),
                    "memory_post": Load("POST", PORTS["memory"], "/accounts", toks["memory"]),
                    "full_post": Load("POST", PORTS["full"], "/accounts", toks["full"]),
                    "normal_post": Load("POST", PORTS["normal"], "/accounts", toks["normal"]),
                    "baseline_get": Load("GET", PORTS["baseline"], _BASELINE_GET),
                    "memory_get": Load("GET", PORTS["memory"], f"/accounts/{memory_target}",
                                       toks["memory"]),
                    "full_get": Load("GET", PORTS["full"], f"/accounts/{target}", toks["full"]),
                }  # fmt: skip
                measured = _measure(bench, loads, args.warmup, toks)
                res["group_commit"] = _group_commit(PORTS["full"])
                res["servers"] = {name: s.command for name, s in servers.items()}
    res["measured"] = measured
    res["table"] = _verdicts(measured)
    res["load_commands"] = bench.commands
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "durable.json").write_text(json.dumps(res, indent=2) + "\n")
    text = markdown(res)
    (RESULTS / "durable.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
