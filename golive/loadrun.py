"""Running a Locust load test for ``golive load``: where it goes, what data it picks from,
the Locust command line, and the run itself (always a subprocess: Locust patches the
standard library with gevent, which must never reach golive's own process).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from golive.errors import CheckFailed, GoliveError, UsageProblem
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from simulators.loopback import is_loopback_url

__all__ = [
    "SHAPES",
    "LoadPlan",
    "check_ownership",
    "ensure_seeded",
    "locust_command",
    "locust_env",
    "parse_duration",
    "prepare_data",
    "read_progress",
    "reset_simulators",
    "run_locust",
]

# Shape name -> locustfile under loadtests/.
SHAPES: dict[str, str] = {
    "quarter-end": "quarter_end.py",
    "month-end": "month_end.py",
    "steady": "locustfile.py",
}
RESULT_FILE = "golive-stats.json"
_GRACE_S = 90.0  # past the duration before a run that does not stop is stopped
MAX_DURATION_S = 24 * 3600  # a longer --duration is a typo, not a load test


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``2m``, ``1.5m``, ``1h30m`` → seconds, from 1 s to 24 h.

    Numbers may have decimals; units are h, m and s, largest first, each once at most.
    Anything else is a one-line UsageProblem.
    """
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", value)
        units = [u for _, u in parts]
        in_order = units == sorted(set(units), key="hms".index)  # h before m before s, once
        if not parts or "".join(n + u for n, u in parts) != value or not in_order:
            raise UsageProblem(f"--duration {text!r}: use seconds or units, e.g. 90s, 2m, 1h30m")
        seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if seconds < 1:
        raise UsageProblem(f"--duration {text!r}: must be at least 1 s")
    if seconds > MAX_DURATION_S:
        raise UsageProblem(f"--duration {text!r}: must be at most 24h ({seconds:g} s given)")
    return seconds


def check_ownership(target: str, urls: dict[str, str], owned: bool) -> None:
    """Refuse to load anything off loopback that the user has not said they own."""
    remote = [u for u in urls.values() if not is_loopback_url(u)]
    if remote and not owned:
        raise UsageProblem(
            f"target {target!r} is not on loopback ({remote[0]}): load it only if you own it; "
            f"set owned = true in [targets.{target}] of golive.toml or pass --i-own-this-target"
        )


@dataclass
class LoadPlan:
    """Everything one ``golive load`` run needs to start Locust."""

    target: str
    urls: dict[str, str]
    shape: str
    duration_s: float
    users: int
    out: Path
    data: Path | None = None
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    processes: int | None = None
    master: bool = False
    worker: bool = False
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    master_bind_host: str = "*"
    expect_workers: int = 1
    paced: bool = False  # users start flows at their pace whatever responses take
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        if self.worker:
            return f"worker of {self.master_host}:{self.master_port}"
        if self.master:
            return f"master on port {self.master_port}, {self.expect_workers} worker(s)"
        if self.processes:
            return f"{self.processes} local worker processes"
        return "one process"

    @property
    def result_file(self) -> Path:
        return self.out / RESULT_FILE


def _locustfile(shape: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec("loadtests")
    if spec is None or not spec.submodule_search_locations:
        raise GoliveError("the loadtests package is not installed with golive")
    return Path(next(iter(spec.submodule_search_locations))) / SHAPES[shape]


def locust_command(plan: LoadPlan) -> list[str]:
    """The ``locust`` command line: headless, HTML report and CSV into the report folder."""
    cmd = [sys.executable, "-m", "locust", "-f", str(_locustfile(plan.shape)), "--headless",
           "--host", plan.urls["crm"], "--only-summary", "--loglevel", "WARNING"]  # fmt: skip
    if plan.worker:
        return [*cmd, "--worker", "--master-host", plan.master_host,
                "--master-port", str(plan.master_port)]  # fmt: skip
    cmd += ["--users", str(plan.users), "--run-time", f"{round(plan.duration_s)}s",
            "--csv", str(plan.out / "locust"), "--html", str(plan.out / "locust.html")]  # fmt: skip
    if plan.shape == "steady":
        cmd += ["--spawn-rate", f"{max(1.0, plan.users / 5):g}"]
    if plan.master:
        cmd += ["--master", "--master-bind-host", plan.master_bind_host,
                "--master-bind-port", str(plan.master_port),
                "--expect-workers", str(plan.expect_workers)]  # fmt: skip
    elif plan.processes:
        cmd += ["--processes", str(plan.processes)]
    return cmd


def locust_env(plan: LoadPlan) -> dict[str, str]:
    """Where the systems are, who signs in, which data, where to write the final stats."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **plan.extra_env}
    for system, url in plan.urls.items():
        env[f"GOLIVE_{system.upper()}_URL"] = url
    env["GOLIVE_CLIENT_ID"], env["GOLIVE_CLIENT_SECRET"] = plan.client_id, plan.client_secret
    if plan.data is not None:
        env["GOLIVE_LOAD_DATA"] = str(plan.data.resolve())
    env["GOLIVE_LOAD_RESULT"] = str(plan.result_file.resolve())
    env["GOLIVE_LOAD_USERS"] = str(plan.users)
    env["GOLIVE_LOAD_DURATION_S"] = f"{plan.duration_s:g}"
    if plan.paced:
        env["GOLIVE_LOAD_PACING"] = "1"  # loadtests/pacing.py
    return env


# -- data ------------------------------------------------------------------------------------


def _token(client: httpx.Client, url: str, client_id: str, secret: str) -> str:
    response = client.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    if response.status_code != 200:
        raise UsageProblem(
            f"{url}/oauth/token refused client {client_id!r} "
            f"({response.status_code}); check GOLIVE_CLIENT_ID/_SECRET"
        )
    return str(response.json()["access_token"])  # fmt: skip


def simulator_today(urls: dict[str, str]) -> str:
    """The simulators' clock date (billing takes usage for the current period only)."""
    try:
        health = httpx.get(f"{urls['billing']}/_sim/health", timeout=5).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise UsageProblem(
            f"cannot reach the billing simulator at {urls['billing']} ({exc}); "
            "is `golive up` running?"
        ) from None
    return str(health["clock"]["now"])[:10]


def reset_simulators(urls: dict[str, str]) -> None:
    """Empty every simulator of the target (``POST /_sim/reset``)."""
    for system, url in urls.items():
        try:
            httpx.post(f"{url}/_sim/reset", timeout=30).raise_for_status()
        except httpx.HTTPError as exc:
            raise UsageProblem(f"cannot reset the {system} simulator at {url}: {exc}") from None


def ensure_seeded(
    urls: dict[str, str], folder: Path, client_id: str, secret: str,
    on_batch: Callable[[str, int], None] | None = None,
) -> bool:  # fmt: skip
    """Load ``folder`` into the simulators unless its first account is already there."""
    from golive.dataload import iter_objects, load_folder

    first = next(iter_objects(folder, "account"), None)
    if first is None:
        raise UsageProblem(f"{folder} holds no accounts")
    with httpx.Client(timeout=30) as client:
        try:
            token = _token(client, urls["crm"], client_id, secret)
            seen = client.get(f"{urls['crm']}/accounts/{first['id']}",
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        except httpx.TransportError as exc:
            raise UsageProblem(f"cannot reach the CRM at {urls['crm']}: {exc}") from None
        if seen.status_code == 200:
            return False
        try:
            load_folder(folder, urls, batch_size=1000, client=client, on_batch=on_batch)
        except CheckFailed as exc:
            raise UsageProblem(
                f"cannot seed the simulators with {folder}: {exc}; they hold other data: "
                "pass --reset-simulators, or --data with what they hold"
            ) from None
    return True


def prepare_data(
    out: Path, data: Path | None, simulated: bool, urls: dict[str, str], accounts: int,
    seed: int, on_step: Callable[[str], None],
) -> Path:  # fmt: skip
    """The data folder the users pick from: the team's (``--data``) or one generated here.

    For simulators without ``--data``, golive generates ``accounts`` accounts with
    ``seed``, dated the simulators' today, into the report folder. The same seed on the
    same day writes the same bytes, so workers on other machines generate their own copy.
    """
    from golive.dataload import check_folder

    if data is not None:
        check_folder(data)
        return data
    if not simulated:
        raise UsageProblem("this target is not simulated: pass --data DIR, a folder of its "
                           "reference data written by `golive data generate`")  # fmt: skip
    from lifecycle.synth import SynthParams, generate

    as_of = simulator_today(urls)
    folder = out / "data"
    on_step(f"generating {accounts} accounts (seed {seed}, as of {as_of}) into {folder}")
    generate(SynthParams(accounts=accounts, seed=seed, years=1, as_of=as_of), folder)
    return folder


# -- the run ---------------------------------------------------------------------------------


def read_progress(csv_file: Path) -> dict[str, float] | None:
    """The Aggregated row of Locust's ``_stats.csv`` (written every second while it runs)."""
    try:
        with csv_file.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("Name") == "Aggregated":
                    return {"requests": float(row["Request Count"]),
                            "failures": float(row["Failure Count"]),
                            "rps": float(row["Requests/s"])}  # fmt: skip
    except (OSError, KeyError, ValueError):
        return None
    return None


def run_locust(plan: LoadPlan, on_tick: Callable[[float], None] | None = None) -> int:
    """Run Locust to completion; its output goes to ``locust.log``; returns its exit code.

    Ctrl-C stops Locust the way it stops itself (it still writes its reports).
    """
    plan.out.mkdir(parents=True, exist_ok=True)
    log = (plan.out / "locust.log").open("w", encoding="utf-8")
    started = time.monotonic()
    with log:
        proc = subprocess.Popen(
            locust_command(plan), env=locust_env(plan), stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            while proc.poll() is None:
                elapsed = time.monotonic() - started
                if on_tick is not None:
                    on_tick(elapsed)
                if not plan.worker and elapsed > plan.duration_s + _GRACE_S:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)
                    break
                time.sleep(0.25)
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            raise
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return proc.returncode


def last_log_line(out: Path) -> str:
    """The last meaningful line Locust wrote (for a one-line error)."""
    try:
        lines = (out / "locust.log").read_text(encoding="utf-8").strip().splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip() and not line.startswith((" ", "\t", "Traceback")):
            return line.strip()
    return ""


def read_result(plan: LoadPlan) -> dict[str, Any]:
    import json

    try:
        result: dict[str, Any] = json.loads(plan.result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        why = last_log_line(plan.out) or "no output"
        raise GoliveError(
            f"Locust stopped without results: {why} (see {plan.out / 'locust.log'})"
        ) from None
    return result
