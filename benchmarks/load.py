"""Measure target 12 of the benchmarks: Locust's throughput per load core, and the five
simulators under the quarter-end mix.

Run by hand, never in CI (about two and a half minutes with the defaults)::

    python benchmarks/load.py
    python benchmarks/load.py --skip-per-core --mix-duration 20 --base-port 19500

What it measures (servers pinned to core 0 with ``taskset -c 0``, one Locust process
pinned to core 1 with ``taskset -c 1``):

- per_core: one Locust ``FastHttpUser`` process, 32 users with no think time, ``GET`` of
  one object: ``/accounts/{id}`` on the CRM simulator (with a bearer token) and the same
  path on the bare Starlette app (``benchmarks/baseline_app.py``), alternating, ``--runs``
  times each, 3 s of warm-up before each. Requests per second of the load core, and p99.
- mix, paced (the target): the five simulators (``python -m simulators.serve``, all on
  core 0) seeded with generated data, driven by ``loadtests/locustfile.py`` (the
  quarter-end mix of users and tasks, weights unchanged) with pacing on
  (``GOLIVE_LOAD_PACING=1``: each user starts a flow every think-time interval counted
  from the previous flow's start, so the offered load does not fall when the systems
  slow down). A calibration run with a first guess of users measures one user's
  request rate; the measured run has the users that offer ``--rate`` req/s. Achieved
  rate, p50/p95/p99 overall and per request, failures, and the servers' CPU.
- mix, flat out (the capacity line): the same mix, ``--mix-users`` users, think time
  scaled down by ``--think-scale``, not paced: what the one core lets through.

Users start over a 5 s ramp and the stats are reset once all run (``--reset-stats``);
the ramp is the warm-up. Every mix run samples ``/proc`` for the CPU seconds of each
simulator, of Locust, and of both cores: a busy server core that the simulators do not
account for is other work on a shared machine, and the table says how much.

Locust's numbers come from the exact final stats the locustfiles write for golive
(``GOLIVE_LOAD_RESULT``). Every process is started in its own process group and stopped
in a ``finally``. Results: ``benchmarks/results/load.json`` and ``load.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._cpu import CpuSampler  # noqa: E402
from benchmarks._procs import stop_group  # noqa: E402
from golive.loadrun import ensure_seeded  # noqa: E402
from golive.loadslo import LoadSlos, evaluate  # noqa: E402
from lifecycle.systems import SYSTEMS  # noqa: E402
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
HOST = "127.0.0.1"
SERVER_CORE, LOAD_CORE = "0", "1"
WARMUP_S = 3
PER_CORE_TARGET_RPS = 4000
MIX_TARGET_RPS, MIX_TARGET_P99_MS = 1000, 50
RAMP_S = 5.0  # mix users start over this long; the stats are reset after it
CALIBRATE_S = 8.0
NOISE_SHARE = 0.10  # others on the server core above this: the latency is theirs too
# First guess of one paced user's request rate at think scale 1 (the calibration run
# measures the real one): the personas' mean flow length over their mean think time.
GUESS_RPS_PER_USER = 1.8

PING_LOCUSTFILE = """
import os

from locust import FastHttpUser, task

from loadtests import results  # noqa: F401  (final stats for the benchmark)


class PingUser(FastHttpUser):
    headers = {"Authorization": f"Bearer {os.environ.get('BENCH_TOKEN', '')}"}

    @task
    def get_one(self):
        self.client.get(os.environ["BENCH_PATH"], headers=self.headers, name="GET one")
"""


def _taskset(core: str) -> list[str]:
    return ["taskset", "-c", core] if shutil.which("taskset") else []


def _env(**extra: str) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
            "PYTHONUNBUFFERED": "1", **extra}  # fmt: skip


@contextlib.contextmanager
def servers(specs: list[tuple[list[str], str]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start servers pinned to the server core; wait for each health URL; always stop them."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for argv, health in specs:
            procs.append(subprocess.Popen(
                [*_taskset(SERVER_CORE), *argv], cwd=ROOT, env=_env(), start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(health, timeout=1).status_code < 500:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{argv} did not answer {health}")
                time.sleep(0.1)
        yield procs
    finally:
        for proc in procs:
            stop_group(proc)


def locust(locustfile: Path, host: str, users: int, seconds: float, env: dict[str, str],
           workdir: Path, ramp_s: float = 0.0,
           started: Callable[[int], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """One headless Locust run on the load core; the exact final stats.

    ``started`` is told the Locust process's id once it runs (to sample its CPU).
    With ``ramp_s``, users start over that many seconds and the stats are reset once all
    run (``--reset-stats``): the figures cover the ``seconds`` after the ramp only.
    """
    result = workdir / f"result-{time.monotonic_ns()}.json"
    rate = users / ramp_s if ramp_s > 0 else users
    argv = [*_taskset(LOAD_CORE), sys.executable, "-m", "locust", "-f", str(locustfile),
            "--headless", "--users", str(users), "--spawn-rate", f"{rate:.3f}", "--run-time",
            f"{math.ceil(seconds + ramp_s)}s", "--host", host, "--only-summary", "--loglevel",
            "WARNING", *(["--reset-stats"] if ramp_s > 0 else [])]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=workdir, env=_env(GOLIVE_LOAD_RESULT=str(result), **env),
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    if started is not None:
        started(proc.pid)  # taskset execs Locust in the same process
    try:
        _, err = proc.communicate(timeout=seconds + 60)
    finally:
        stop_group(proc)
    if not result.exists():
        raise RuntimeError(f"locust wrote no result: {err.decode(errors='replace')[-500:]}")
    data: dict[str, Any] = json.loads(result.read_text())
    data["command"] = shlex.join(argv)
    return data


def _figures(data: dict[str, Any], seconds: float) -> dict[str, Any]:
    summary = evaluate(data, LoadSlos(p95_ms=None, error_rate=None))
    total = summary["total"]
    span = (data.get("last_request_at") or 0) - (data.get("started_at") or 0)
    span = span if span > 0 else seconds
    return {"requests": total["requests"], "failures": total["failures"],
            "rps": round(total["requests"] / span, 1), "p50_ms": total["p50_ms"],
            "p99_ms": total["p99_ms"], "seconds": round(span, 2)}  # fmt: skip


def run_per_core(runs: int, seconds: float, users: int, base_port: int,
                 workdir: Path) -> dict[str, Any]:  # fmt: skip
    sim_port, baseline_port = base_port, base_port + 1
    locustfile = workdir / "ping.py"
    locustfile.write_text(PING_LOCUSTFILE)
    out: dict[str, list[dict[str, Any]]] = {"baseline": [], "simulator": []}
    sim = [sys.executable, "-m", "simulators.serve", "crm", "--port", str(sim_port)]
    base = [sys.executable, str(ROOT / "benchmarks" / "baseline_app.py"), "--port",
            str(baseline_port), "--body-bytes", "305"]  # fmt: skip
    with servers(
        [
            (sim, f"http://{HOST}:{sim_port}/_sim/health"),
            (base, f"http://{HOST}:{baseline_port}/accounts/acc_0000000000000000"),
        ]
    ):
        token = httpx.post(f"http://{HOST}:{sim_port}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET}).json()["access_token"]  # fmt: skip
        account = httpx.post(f"http://{HOST}:{sim_port}/accounts", json={"name": "Bench"},
                             headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
        targets = {
            "baseline": (f"http://{HOST}:{baseline_port}", "/accounts/acc_0000000000000000", ""),
            "simulator": (f"http://{HOST}:{sim_port}", f"/accounts/{account['id']}", token),
        }
        for _ in range(runs):
            for name, (host, path, tok) in targets.items():
                env = {"BENCH_PATH": path, "BENCH_TOKEN": tok}
                locust(locustfile, host, users, WARMUP_S, env, workdir)
                data = locust(locustfile, host, users, seconds, env, workdir)
                out[name].append({**_figures(data, seconds), "command": data["command"]})
                print(f"  per core, {name}: {out[name][-1]['rps']} req/s", flush=True)
    med = {k: statistics.median(r["rps"] for r in v) for k, v in out.items()}
    return {
        "users": users,
        "runs": out,
        "median_rps": med,
        "ratio_simulator_to_baseline": round(med["simulator"] / med["baseline"], 3),
    }


def _by_system(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Requests per system (Locust names requests ``"<system> <path>"``)."""
    out = dict.fromkeys(SYSTEMS, 0)
    for row in rows:
        system = row["name"].split(" ", 1)[0]
        if system in out:
            out[system] += row["requests"]
    return out


def _cpu_figures(cpu: dict[str, float | None], requests: dict[str, int],
                 span_s: float) -> dict[str, Any]:  # fmt: skip
    """Core share and CPU per request of each simulator and of the five on their core;
    the load generator's share of its core; what else ran on the server core."""

    def share(seconds: float | None) -> float | None:
        return None if seconds is None or span_s <= 0 else round(seconds / span_s, 3)

    known = {s: c for s, c in cpu.items() if s in requests and c is not None}
    total = sum(known.values())
    core_busy = cpu.get("core 0")
    return {
        "window_s": round(span_s, 2),
        "core_share": share(total),
        "cpu_ms_per_request": round(1000 * total / max(1, sum(requests.values())), 3),
        "server_core_busy_share": share(core_busy),
        "others_on_server_core_share": share(None if core_busy is None else core_busy - total),
        "locust_core_share": share(cpu.get("locust")),
        "load_core_busy_share": share(cpu.get("core 1")),
        "by_system": {s: {"cpu_s": c, "core_share": share(c), "requests": requests[s],
                          "cpu_ms_per_request": round(1000 * c / requests[s], 3)
                          if requests[s] else None}
                      for s, c in known.items()},
    }  # fmt: skip


def _mix_run(locustfile: Path, host: str, users: int, seconds: float, env: dict[str, str],
             workdir: Path, pids: dict[str, int], ramp_s: float) -> dict[str, Any]:  # fmt: skip
    """One mix run with the servers' CPU sampled; figures of the window after the ramp."""
    cores = {"core 0": int(SERVER_CORE), "core 1": int(LOAD_CORE)}
    with CpuSampler(pids, cores) as sampler:
        data = locust(locustfile, host, users, seconds, env, workdir, ramp_s=ramp_s,
                      started=lambda pid: sampler.add("locust", pid))  # fmt: skip
    figures = _figures(data, seconds)
    summary = evaluate(data, LoadSlos(p95_ms=None, error_rate=None))
    start = data.get("started_at") or 0.0
    span = figures["seconds"]
    cpu = _cpu_figures(sampler.between(start, start + span), _by_system(summary["requests"]),
                       span)  # fmt: skip
    total = summary["total"]
    return {"users": users, **figures, "p95_ms": total["p95_ms"], "server_cpu": cpu,
            "by_request": summary["requests"], "errors": summary["errors"][:10],
            "command": data["command"]}  # fmt: skip


def run_mix(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The quarter-end mix paced at ``args.rate`` req/s, then flat out (the capacity line)."""
    from lifecycle.synth import SynthParams, generate

    base = args.base_port + 10
    urls = {s: f"http://{HOST}:{base + i}" for i, s in enumerate(SYSTEMS)}
    specs = [([sys.executable, "-m", "simulators.serve", s, "--port", str(base + i)],
              f"{urls[s]}/_sim/health") for i, s in enumerate(SYSTEMS)]  # fmt: skip
    data_dir = workdir / "data"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    generate(SynthParams(accounts=args.accounts, seed=7, years=1, as_of=today), data_dir)
    env = {f"GOLIVE_{s.upper()}_URL": u for s, u in urls.items()} | {
        "GOLIVE_LOAD_DATA": str(data_dir)}  # fmt: skip
    paced_env = env | {"GOLIVE_LOAD_PACING": "1",
                       "GOLIVE_LOAD_THINK_SCALE": f"{args.paced_think_scale:g}"}  # fmt: skip
    flat_env = env | {"GOLIVE_LOAD_THINK_SCALE": f"{args.think_scale:g}"}
    locustfile = ROOT / "loadtests" / "locustfile.py"
    host = urls["crm"]
    with servers(specs) as procs:
        pids = {s: p.pid for s, p in zip(SYSTEMS, procs, strict=True)}
        ensure_seeded(urls, data_dir, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        # Calibrate: a paced user's request rate depends on its flows (how many requests,
        # which branches), so run a first guess of users, measure, and scale.
        guess = max(5, math.ceil(args.rate * args.paced_think_scale / GUESS_RPS_PER_USER))
        cal = _mix_run(locustfile, host, guess, CALIBRATE_S, paced_env, workdir, pids, RAMP_S)
        # On a busy machine slow flows overrun their pace and the calibration reads low:
        # it corrects the guess by at most half either way.
        per_user = cal["rps"] / guess
        users = round(min(1.5, max(0.67, args.rate / max(cal["rps"], 1e-9))) * guess)
        print(f"  calibration: {guess} paced users, {cal['rps']} req/s -> {users} users",
              flush=True)  # fmt: skip
        paced = _mix_run(locustfile, host, users, args.mix_duration, paced_env, workdir, pids,
                         RAMP_S)  # fmt: skip
        print(f"  quarter-end mix, paced: {paced['rps']} req/s, p99 {paced['p99_ms']} ms, "
              f"servers {paced['server_cpu']['core_share']} of a core", flush=True)  # fmt: skip
        flat = _mix_run(locustfile, host, args.mix_users, args.capacity_duration, flat_env,
                        workdir, pids, RAMP_S)  # fmt: skip
        print(f"  quarter-end mix, flat out: {flat['rps']} req/s, p99 {flat['p99_ms']} ms",
              flush=True)  # fmt: skip
    return {
        "accounts": args.accounts, "target_rps": args.rate,
        "paced": {"think_scale": args.paced_think_scale, "calibration": {
            "users": guess, "rps": cal["rps"], "rps_per_user": round(per_user, 3)}, **paced},
        "capacity": {"think_scale": args.think_scale, **flat},
    }  # fmt: skip


def environment() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = m.group(1).strip() if m else cpu
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "git_commit": commit,
        "cpu_model": cpu, "nproc": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in load],
        "platform": platform.platform(), "python": platform.python_version(),
        "pinned": bool(shutil.which("taskset")),
        "versions": {d: metadata.version(d) for d in ("golive", "locust", "uvicorn", "starlette",
                                                      "fastapi", "geventhttpclient")},
        "command": shlex.join([sys.executable, *sys.argv]),
    }  # fmt: skip


def _mix_line(what: str, run: dict[str, Any], target: str, verdict: str) -> str:
    cpu = run["server_cpu"]
    return (f"| {what} | {target} | {run['rps']:,.0f} req/s, p50 {run['p50_ms']} / p95 "
            f"{run['p95_ms']} / p99 {run['p99_ms']} ms, {run['failures']} failed; servers "
            f"{cpu['core_share']} of core 0 ({cpu['cpu_ms_per_request']} ms CPU/request), "
            f"others {cpu['others_on_server_core_share']} of it; Locust "
            f"{cpu['locust_core_share']} of core 1 | {verdict} |")  # fmt: skip


def _noise(run: dict[str, Any]) -> str:
    """A warning on the verdict when other processes took a share of the server core."""
    others = run["server_cpu"]["others_on_server_core_share"]
    if others is None or others <= NOISE_SHARE:
        return ""
    return f" (not conclusive: other processes took {others:.0%} of core 0)"


def markdown(res: dict[str, Any]) -> str:
    env, pc, mix = res["environment"], res.get("per_core"), res["mix"]
    paced, flat = mix["paced"], mix["capacity"]
    ok_mix = paced["rps"] >= MIX_TARGET_RPS and paced["p99_ms"] <= MIX_TARGET_P99_MS
    lines = [
        "# Load generation (target 12)", "",
        f"{env['date']}, commit {env['git_commit']}, {env['cpu_model']}, nproc {env['nproc']}, "
        f"load average at start {env['loadavg_at_start']}, Locust {env['versions']['locust']}.",
        "", "| what | target | measured | verdict |", "|---|---|---|---|",
    ]  # fmt: skip
    if pc:
        ok_core = pc["median_rps"]["simulator"] >= PER_CORE_TARGET_RPS
        lines += [
            f"| Locust FastHttpUser, one load core, GET on the CRM simulator | >= "
            f"{PER_CORE_TARGET_RPS:,} req/s | {pc['median_rps']['simulator']:,.0f} req/s "
            f"(median of {len(pc['runs']['simulator'])}) | {'PASS' if ok_core else 'FAIL'} |",
            f"| the same against bare Starlette (baseline, same run) | anchor 5,700 | "
            f"{pc['median_rps']['baseline']:,.0f} req/s; simulator/baseline "
            f"{pc['ratio_simulator_to_baseline']} | - |",
        ]  # fmt: skip
    lines += [
        _mix_line(f"five simulators, quarter-end mix paced at {mix['target_rps']:,} req/s "
                  f"({paced['users']} users, think x{paced['think_scale']:g} from each flow's "
                  f"start, {paced['seconds']:g} s)",
                  paced, f">= {MIX_TARGET_RPS:,} req/s, p99 <= {MIX_TARGET_P99_MS} ms",
                  ("PASS" if ok_mix else "FAIL") + _noise(paced)),
        _mix_line(f"capacity: the same mix flat out ({flat['users']} users, think "
                  f"x{flat['think_scale']:g}, {flat['seconds']:g} s)", flat, "-", "-"),
        "", "Servers on core 0, one Locust process on core 1 "
        f"({'taskset' if env['pinned'] else 'not pinned: taskset absent'}); figures cover "
        f"the run after a {RAMP_S:g} s ramp (`--reset-stats`).", "",
        "Paced run by system (server CPU over the measured window):", "",
        "| system | req/s | share of core 0 | CPU ms/request |", "|---|---|---|---|",
    ]  # fmt: skip
    for system, row in paced["server_cpu"]["by_system"].items():
        lines.append(f"| {system} | {row['requests'] / paced['seconds']:,.0f} | "
                     f"{row['core_share']} | {row['cpu_ms_per_request']} |")  # fmt: skip
    lines += ["", "Paced run by request:", "",
              "| request | requests | failed | p50 ms | p95 ms | p99 ms |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for row in paced["by_request"]:
        lines.append(f"| {row['request']} | {row['requests']} | {row['failures']} | "
                     f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} |")  # fmt: skip
    lines += ["", f"Command: `{env['command']}`", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per run.")
    parser.add_argument("--users", type=int, default=32, help="Users of the per-core runs.")
    parser.add_argument("--skip-per-core", action="store_true",
                        help="Measure the mix only.")  # fmt: skip
    parser.add_argument("--rate", type=int, default=1100,
                        help="Requests/s the paced mix offers in all.")  # fmt: skip
    parser.add_argument("--paced-think-scale", type=float, default=0.5,
                        help="Think time factor of the paced run.")  # fmt: skip
    parser.add_argument("--mix-duration", type=float, default=30.0,
                        help="Seconds of the paced run after its ramp.")  # fmt: skip
    parser.add_argument("--capacity-duration", type=float, default=15.0)
    parser.add_argument("--mix-users", type=int, default=150, help="Users of the flat-out run.")
    parser.add_argument("--think-scale", type=float, default=0.05,
                        help="Think time factor of the flat-out run.")  # fmt: skip
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--base-port", type=int, default=9720,
                        help="Ports used: this one and the next 15.")  # fmt: skip
    args = parser.parse_args()
    if args.rate < 1 or args.paced_think_scale <= 0 or args.think_scale <= 0:
        parser.error("--rate, --paced-think-scale and --think-scale must be positive")
    with tempfile.TemporaryDirectory(prefix="golive-bench-load-") as tmp:
        work = Path(tmp)
        res: dict[str, Any] = {"environment": environment()}
        if not args.skip_per_core:
            print("per-core throughput (Locust FastHttpUser on one core)", flush=True)
            res["per_core"] = run_per_core(args.runs, args.duration, args.users,
                                           args.base_port, work)  # fmt: skip
        print("five simulators under the quarter-end mix", flush=True)
        res["mix"] = run_mix(args, work)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    table = markdown(res)
    (RESULTS / "load.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
