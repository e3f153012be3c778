"""Measure target 12 of the benchmarks: Locust's throughput per load core, and the five
simulators under the quarter-end mix.

Run by hand, never in CI (about two minutes with the defaults)::

    python benchmarks/load.py
    python benchmarks/load.py --runs 1 --duration 5 --mix-duration 10

What it measures (servers pinned to core 0 with ``taskset -c 0``, one Locust process
pinned to core 1 with ``taskset -c 1``; 3 s of warm-up before each measured run):

- per_core: one Locust ``FastHttpUser`` process, 32 users with no think time, ``GET`` of
  one object: ``/accounts/{id}`` on the CRM simulator (with a bearer token) and the same
  path on the bare Starlette app (``benchmarks/baseline_app.py``), alternating, ``--runs``
  times each. Requests per second of the load core, and p99.
- mix: the five simulators (``python -m simulators.serve``, all on core 0) seeded with
  generated data, driven by ``loadtests/locustfile.py`` (the quarter-end mix of users and
  tasks) with ``--mix-users`` users and think time scaled down by ``--think-scale``, so
  the mix is the same and only its pace rises. Requests per second and p99 overall.

Locust's numbers come from the exact final stats the locustfiles write for golive
(``GOLIVE_LOAD_RESULT``). Every process is started in its own process group and stopped
in a ``finally``. Results: ``benchmarks/results/load.json`` and ``load.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
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
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._procs import stop_group  # noqa: E402
from golive.loadrun import ensure_seeded  # noqa: E402
from golive.loadslo import LoadSlos, evaluate  # noqa: E402
from lifecycle.systems import SYSTEMS  # noqa: E402
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
HOST = "127.0.0.1"
SIM_PORT, BASELINE_PORT, MIX_BASE_PORT = 9720, 9721, 9730
SERVER_CORE, LOAD_CORE = "0", "1"
WARMUP_S = 3
PER_CORE_TARGET_RPS = 4000
MIX_TARGET_RPS, MIX_TARGET_P99_MS = 1000, 50

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
def servers(specs: list[tuple[list[str], str]]) -> Iterator[None]:
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
        yield
    finally:
        for proc in procs:
            stop_group(proc)


def locust(locustfile: Path, host: str, users: int, seconds: float, env: dict[str, str],
           workdir: Path) -> dict[str, Any]:  # fmt: skip
    """One headless Locust run on the load core; the exact final stats."""
    result = workdir / f"result-{time.monotonic_ns()}.json"
    argv = [*_taskset(LOAD_CORE), sys.executable, "-m", "locust", "-f", str(locustfile),
            "--headless", "--users", str(users), "--spawn-rate", str(users), "--run-time",
            f"{seconds:g}s", "--host", host, "--only-summary", "--loglevel", "WARNING"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=workdir, env=_env(GOLIVE_LOAD_RESULT=str(result), **env),
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
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


def run_per_core(runs: int, seconds: float, users: int, workdir: Path) -> dict[str, Any]:
    locustfile = workdir / "ping.py"
    locustfile.write_text(PING_LOCUSTFILE)
    out: dict[str, list[dict[str, Any]]] = {"baseline": [], "simulator": []}
    sim = [sys.executable, "-m", "simulators.serve", "crm", "--port", str(SIM_PORT)]
    base = [sys.executable, str(ROOT / "benchmarks" / "baseline_app.py"), "--port",
            str(BASELINE_PORT), "--body-bytes", "305"]  # fmt: skip
    with servers(
        [
            (sim, f"http://{HOST}:{SIM_PORT}/_sim/health"),
            (base, f"http://{HOST}:{BASELINE_PORT}/accounts/acc_0000000000000000"),
        ]
    ):
        token = httpx.post(f"http://{HOST}:{SIM_PORT}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET}).json()["access_token"]  # fmt: skip
        account = httpx.post(f"http://{HOST}:{SIM_PORT}/accounts", json={"name": "Bench"},
                             headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
        targets = {
            "baseline": (f"http://{HOST}:{BASELINE_PORT}", "/accounts/acc_0000000000000000", ""),
            "simulator": (f"http://{HOST}:{SIM_PORT}", f"/accounts/{account['id']}", token),
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


def run_mix(seconds: float, users: int, think_scale: float, accounts: int,
            workdir: Path) -> dict[str, Any]:  # fmt: skip
    from lifecycle.synth import SynthParams, generate

    urls = {s: f"http://{HOST}:{MIX_BASE_PORT + i}" for i, s in enumerate(SYSTEMS)}
    specs = [([sys.executable, "-m", "simulators.serve", s, "--port", str(MIX_BASE_PORT + i)],
              f"{urls[s]}/_sim/health") for i, s in enumerate(SYSTEMS)]  # fmt: skip
    data_dir = workdir / "data"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    generate(SynthParams(accounts=accounts, seed=7, years=1, as_of=today), data_dir)
    env = {f"GOLIVE_{s.upper()}_URL": u for s, u in urls.items()}
    env |= {"GOLIVE_LOAD_DATA": str(data_dir), "GOLIVE_LOAD_THINK_SCALE": f"{think_scale:g}"}
    locustfile = ROOT / "loadtests" / "locustfile.py"
    with servers(specs):
        ensure_seeded(urls, data_dir, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        locust(locustfile, urls["crm"], users, WARMUP_S, env, workdir)
        data = locust(locustfile, urls["crm"], users, seconds, env, workdir)
    figures = _figures(data, seconds)
    summary = evaluate(data, LoadSlos(p95_ms=None, error_rate=None))
    print(f"  quarter-end mix: {figures['rps']} req/s, p99 {figures['p99_ms']} ms", flush=True)
    return {"users": users, "think_scale": think_scale, "accounts": accounts, **figures,
            "by_request": summary["requests"], "errors": summary["errors"][:10],
            "command": data["command"]}  # fmt: skip


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


def markdown(res: dict[str, Any]) -> str:
    env, pc, mix = res["environment"], res["per_core"], res["mix"]
    ok_core = pc["median_rps"]["simulator"] >= PER_CORE_TARGET_RPS
    ok_mix = mix["rps"] >= MIX_TARGET_RPS and mix["p99_ms"] <= MIX_TARGET_P99_MS
    lines = [
        "# Load generation (target 12)", "",
        f"{env['date']}, commit {env['git_commit']}, {env['cpu_model']}, nproc {env['nproc']}, "
        f"load average at start {env['loadavg_at_start']}, Locust {env['versions']['locust']}.",
        "", "| what | target | measured | verdict |", "|---|---|---|---|",
        f"| Locust FastHttpUser, one load core, GET on the CRM simulator | >= "
        f"{PER_CORE_TARGET_RPS:,} req/s | {pc['median_rps']['simulator']:,.0f} req/s "
        f"(median of {len(pc['runs']['simulator'])}) | {'PASS' if ok_core else 'FAIL'} |",
        f"| the same against bare Starlette (baseline, same run) | anchor 5,700 | "
        f"{pc['median_rps']['baseline']:,.0f} req/s; simulator/baseline "
        f"{pc['ratio_simulator_to_baseline']} | - |",
        f"| five simulators, quarter-end mix ({mix['users']} users, think x{mix['think_scale']})"
        f" | >= {MIX_TARGET_RPS:,} req/s, p99 <= {MIX_TARGET_P99_MS} ms | "
        f"{mix['rps']:,.0f} req/s, p99 {mix['p99_ms']} ms, {mix['failures']} failed | "
        f"{'PASS' if ok_mix else 'FAIL'} |", "",
        "Servers on core 0, one Locust process on core 1 "
        f"({'taskset' if env['pinned'] else 'not pinned: taskset absent'}).", "",
    ]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per run.")
    parser.add_argument("--users", type=int, default=32, help="Users of the per-core runs.")
    parser.add_argument("--mix-duration", type=float, default=20.0)
    parser.add_argument("--mix-users", type=int, default=300)
    parser.add_argument("--think-scale", type=float, default=0.05)
    parser.add_argument("--accounts", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="golive-bench-load-") as tmp:
        work = Path(tmp)
        res = {"environment": environment()}
        print("per-core throughput (Locust FastHttpUser on one core)", flush=True)
        res["per_core"] = run_per_core(args.runs, args.duration, args.users, work)
        print("five simulators under the quarter-end mix", flush=True)
        res["mix"] = run_mix(args.mix_duration, args.mix_users, args.think_scale,
                             args.accounts, work)  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    table = markdown(res)
    (RESULTS / "load.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
