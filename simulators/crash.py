"""The kill -9 check of durable state: acknowledged writes survive a crash, whole.

A real CRM simulator process runs on a state directory; clients stream creates and
opportunity stage moves (half with an Idempotency-Key) and record every answer; the
process is killed with SIGKILL at a random (seeded) moment and started again on the
same folder, many times. After each restart the check reads the whole state and the
event feed: every acknowledged write is there at its acknowledged version or later,
no object lacks its event and no event its object, event ids have no gap or
duplicate, no id is handed out twice, and retried keys replay their first answer
(docs/durability.md). ``tests/simulators/test_crash.py`` runs it briefly,
``benchmarks/crash.py`` at length.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from simulators.testing import free_base_port

__all__ = ["CrashReport", "run_crash_check"]

_OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")
_START_TIMEOUT_S = 30.0


@dataclass
class CrashReport:
    """What a crash check did and every broken promise it found (``problems``)."""

    kills: int = 0
    acknowledged: int = 0
    replays_checked: int = 0
    retried_in_flight: int = 0
    objects: int = 0
    events: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


@dataclass
class _Call:
    method: str
    path: str
    body: dict[str, Any]
    key: str | None = None
    if_match: int | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.key is not None:
            out["Idempotency-Key"] = self.key
        if self.if_match is not None:
            out["If-Match"] = f'"{self.if_match}"'
        return out


class _Model:
    """What the clients were told: the promises a restart has to keep."""

    def __init__(self, report: CrashReport) -> None:
        self.report = report
        self.acked: dict[str, dict[str, Any]] = {}  # id -> the newest acknowledged version
        self.accounts: list[str] = []
        self.opportunities: dict[int, list[str]] = {}  # by worker: one writer per object
        self.keyed: list[tuple[_Call, int, Any]] = []  # acknowledged keyed calls, answers
        self.in_flight: list[tuple[int, _Call]] = []  # keyed calls the kill cut short
        self.suffixes: dict[str, str] = {}  # id stream position (hex) -> the id that has it
        self.events_seen = 0
        self.event_versions: set[tuple[str, int]] = set()

    def problem(self, text: str) -> None:
        self.report.problems.append(text)

    def saw_id(self, object_id: str) -> None:
        suffix = object_id.rpartition("_")[2]
        holder = self.suffixes.setdefault(suffix, object_id)
        if holder != object_id:
            self.problem(f"id position handed out twice: {holder} and {object_id}")

    def record(self, worker: int, call: _Call, response: httpx.Response) -> None:
        status = response.status_code
        if status >= 500:
            self.problem(f"{call.method} {call.path} answered {status}: {response.text[:200]}")
            return
        if status not in (200, 201):
            return  # a refusal changes nothing
        obj = response.json()
        replayed = response.headers.get("idempotent-replayed") == "true"
        if status == 201 and not replayed:
            if obj["id"] in self.acked:
                self.problem(f"a create answered an id already acknowledged: {obj['id']}")
            self.saw_id(obj["id"])
            if obj["id"].startswith("acc_"):
                self.accounts.append(obj["id"])
            else:
                self.opportunities.setdefault(worker, []).append(obj["id"])
        known = self.acked.get(obj["id"])
        if known is None or obj["version"] >= known["version"]:
            self.acked[obj["id"]] = obj
        self.report.acknowledged += 1
        if call.key is not None and not replayed:
            self.keyed.append((call, status, obj))


async def _worker(client: httpx.AsyncClient, model: _Model, worker: int, rng: random.Random,
                  prefix: str) -> None:  # fmt: skip
    n = 0
    while True:
        n += 1
        roll = rng.random()
        mine = model.opportunities.get(worker, [])
        if roll < 0.3 or not model.accounts:
            call = _Call("POST", "/accounts", {"name": f"{prefix} account {worker}.{n}"})
        elif roll < 0.55 or not mine:
            account = rng.choice(model.accounts)
            call = _Call("POST", "/opportunities", {"account_id": account, "name": f"deal {n}"})
        else:
            opp = model.acked[rng.choice(mine)]
            target = rng.choice([s for s in _OPEN_STAGES if s != opp["stage"]])
            call = _Call("PATCH", f"/opportunities/{opp['id']}", {"stage": target},
                         if_match=opp["version"])  # fmt: skip
        if rng.random() < 0.5:
            call.key = f"{prefix}-{worker}-{n}"
        try:
            response = await client.request(
                call.method, call.path, json=call.body, headers=call.headers()
            )
        except httpx.TransportError:
            if call.key is not None:
                model.in_flight.append((worker, call))
            return
        model.record(worker, call, response)


# Starts simulator processes the way a preloading server (gunicorn --preload) does: one
# process imports the simulator once, then forks a fresh child per start, so a restart
# costs milliseconds rather than a second of imports. Each child is a whole simulator
# process (python -m simulators.serve's main) that dies alone under SIGKILL.
_FORK_SERVER = """
import json, os, signal, sys
from simulators.serve import main
import simulators.crm.app
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.environ["GOLIVE_PARENT_PID"] = str(os.getppid())
        code = 0
        try:
            main(json.loads(line))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    sys.stdout.write(f"{pid}\\n")
    sys.stdout.flush()
"""


class _ForkServer:
    def __init__(self, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _FORK_SERVER], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=out,
            )  # fmt: skip

    def start(self, *argv: str) -> int:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(argv).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server exited; see {self.log}")
        return int(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # end of input: the server exits, its children with it
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill(pid: int) -> None:
    """SIGKILL, then wait until the process is gone (its lock and port are free then)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.002)


async def _wait_healthy(client: httpx.AsyncClient, pid: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        if not _alive(pid):
            tail = log.read_text(errors="replace").strip()[-500:]
            raise RuntimeError(f"the simulator exited at start: {tail}")
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/_sim/health")).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("the simulator did not answer its health check in time")
        await asyncio.sleep(0.02)


async def _sign_in(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
              "client_secret": DEFAULT_CLIENT_SECRET},
    )  # fmt: skip
    response.raise_for_status()
    client.headers["Authorization"] = "Bearer " + response.json()["access_token"]


async def _verify(client: httpx.AsyncClient, model: _Model, rng: random.Random) -> None:
    """Check every promise against the restarted simulator; adopt what it kept."""
    report = model.report
    exported = (await client.get("/_sim/export")).json()["objects"]
    objects = {o["id"]: o for objs in exported.values() for o in objs}
    report.objects = len(objects)
    for object_id in objects:
        model.saw_id(object_id)
    for object_id, acked in model.acked.items():
        kept = objects.get(object_id)
        if kept is None:
            model.problem(f"acknowledged {object_id} v{acked['version']} is gone")
        elif kept["version"] < acked["version"]:
            model.problem(f"{object_id} is at v{kept['version']}, acknowledged v{acked['version']}")
        elif kept["version"] == acked["version"] and kept != acked:
            model.problem(f"{object_id} v{acked['version']} differs from what was acknowledged")
        elif kept["version"] > acked["version"]:
            model.acked[object_id] = kept  # a write the kill cut short that did commit
    after = f"evt_crm_{model.events_seen:012d}" if model.events_seen else None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if after is not None:
            params["after"] = after
        page = (await client.get("/events", params=params)).json()
        for event in page["data"]:
            number = int(event["id"].rpartition("_")[2])
            if number != model.events_seen + 1:
                model.problem(f"event {event['id']} follows event {model.events_seen}")
            model.events_seen = number
            data = event["data"]
            model.event_versions.add((data["id"], data["version"]))
            kept = objects.get(data["id"])
            if kept is None or kept["version"] < data["version"]:
                model.problem(f"{event['id']} shows {data['id']} v{data['version']}, not stored")
        if not page["data"] or page["next_cursor"] is None:
            break
        after = page["data"][-1]["id"]
    report.events = model.events_seen
    for object_id, obj in objects.items():
        if (object_id, obj["version"]) not in model.event_versions:
            model.problem(f"{object_id} v{obj['version']} is stored without its event")
    for call, status, answer in rng.sample(model.keyed, min(3, len(model.keyed))):
        again = await client.request(call.method, call.path, json=call.body,
                                     headers=call.headers())  # fmt: skip
        report.replays_checked += 1
        if (again.status_code, again.headers.get("idempotent-replayed")) != (status, "true"):
            model.problem(f"key {call.key} answered {again.status_code} instead of a replay")
        elif again.json() != answer:
            model.problem(f"key {call.key} replayed another answer")
    in_flight, model.in_flight = model.in_flight, []
    for worker, call in in_flight:  # cut short by the kill: done once, or not at all
        again = await client.request(call.method, call.path, json=call.body,
                                     headers=call.headers())  # fmt: skip
        report.retried_in_flight += 1
        if again.status_code not in (200, 201):
            model.problem(f"retried key {call.key} answered {again.status_code}: {again.text}")
        model.record(worker, call, again)


async def _run(state_dir: Path, kills: int, seed: int, workers: int, durability: str,
               report: CrashReport, port: int | None) -> None:  # fmt: skip
    rng = random.Random(seed)
    model = _Model(report)
    port = port or free_base_port(1)
    log = state_dir / "crash-check.log"
    forks = _ForkServer(log)
    argv = ("crm", "--port", str(port), "--state-dir", str(state_dir), "--durability", durability)
    try:
        await _cycles(forks, argv, port, log, kills, workers, rng, model)
    finally:
        forks.close()


async def _cycles(forks: _ForkServer, argv: tuple[str, ...], port: int, log: Path, kills: int,
                  workers: int, rng: random.Random, model: _Model) -> None:  # fmt: skip
    report = model.report
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for cycle in range(kills + 1):
            pid = forks.start(*argv)
            try:
                await _wait_healthy(client, pid, log)
                await _sign_in(client)
                if cycle:
                    await _verify(client, model, rng)
                if cycle == kills:
                    break
                tasks = [
                    asyncio.ensure_future(_worker(client, model, w, random.Random(rng.random()),
                                                  f"c{cycle}"))
                    for w in range(workers)
                ]  # fmt: skip
                await asyncio.sleep(rng.uniform(0.05, 0.35))
                os.kill(pid, signal.SIGKILL)
                report.kills += 1
                await asyncio.gather(*tasks)
            finally:
                _kill(pid)


def run_crash_check(
    state_dir: str | Path,
    *,
    kills: int = 20,
    seed: int = 0,
    workers: int = 8,
    durability: str = "full",
    port: int | None = None,
) -> CrashReport:
    """Kill a CRM simulator ``kills`` times under load; the report lists what broke.

    The simulator listens on ``port`` (None: a free one).
    """
    report = CrashReport()
    started = time.monotonic()
    asyncio.run(_run(Path(state_dir), kills, seed, workers, durability, report, port))
    report.seconds = round(time.monotonic() - started, 2)
    return report
