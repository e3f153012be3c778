"""Benchmark the webhook dispatcher (docs/benchmarks.md target 6).

    python benchmarks/webhooks.py [--events 5000] [--rate 500] [--lag-seconds 10]
                                  [--runs 2] [--duration 10] [--output PATH]

Three measurements, one CRM simulator process on the server core, a receiver (bare
Starlette on uvicorn, counting arrivals) and the load generator on the load core:

1. throughput: ``--events`` account creates are made while a ``delay`` fault holds
   their deliveries on a frozen clock; one clock advance then makes all of them due at
   once, and the time until the receiver has them all gives deliveries per second;
2. lag: accounts created at ``--rate`` per second for ``--lag-seconds`` with the clock
   running; lag = arrival at the receiver minus the event's ``occurred_at``;
3. the request path: wrk POST /accounts with no webhook endpoint and with one (whose
   deliveries go to the receiver), alternating, ``--runs`` x ``--duration`` s each.

Everything on 127.0.0.1, bounded in time. Results: benchmarks/results/webhooks.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchmarks.simulators as sims  # noqa: E402
from benchmarks.simulators import (  # noqa: E402
    Bench,
    Load,
    Server,
    request,
    running,
    sim_server,
    token,
)

SIM_PORT = 18401
RECEIVER_PORT = 18402
RESULTS = ROOT / "benchmarks" / "results"

_RECEIVER = """
import sys, time, json
from starlette.applications import Starlette
from starlette.responses import Response, JSONResponse
from starlette.routing import Route
import uvicorn

arrivals = []

async def hook(request):
    body = await request.body()
    arrivals.append((time.time(), body))
    return Response(status_code=204)

async def stats(request):
    out = [(t, json.loads(b)["occurred_at"]) for t, b in arrivals]
    return JSONResponse({"count": len(arrivals), "arrivals": out})

async def count(request):
    return JSONResponse({"count": len(arrivals)})

async def clear(request):
    arrivals.clear()
    return JSONResponse({"count": 0})

app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/stats", stats),
                        Route("/count", count), Route("/clear", clear, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off")
"""


def receiver_server(port: int) -> Server:
    return Server("receiver", [sys.executable, "-c", _RECEIVER, str(port)], port, "/count")


def _json(method: str, port: int, path: str, body: Any = None, tok: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    raw_body = json.dumps(body).encode() if body is not None else None
    status, _, raw = request(method, port, path, raw_body, headers)
    if status >= 400:
        raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
    return json.loads(raw) if raw else None


def _register(tok: str) -> str:
    hook = {"url": f"http://127.0.0.1:{RECEIVER_PORT}/hook", "events": ["*"]}
    return str(_json("POST", SIM_PORT, "/webhook-endpoints", hook, tok)["id"])


def _arrivals() -> list[tuple[float, str]]:
    return [(t, o) for t, o in _json("GET", RECEIVER_PORT, "/stats")["arrivals"]]


def _wait_count(count: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = _json("GET", RECEIVER_PORT, "/count")["count"]
        if got >= count:
            return time.monotonic()
        time.sleep(0.02)
    raise RuntimeError(f"receiver got {got} of {count} deliveries in {timeout_s} s")


def _create(tok: str, n: int) -> None:
    _json("POST", SIM_PORT, "/accounts", {"name": f"Bench {n}"}, tok)


def throughput(events: int) -> dict[str, Any]:
    _json("POST", SIM_PORT, "/_sim/reset")
    _json("POST", RECEIVER_PORT, "/clear")
    tok = token(SIM_PORT)
    _json("POST", SIM_PORT, "/_sim/clock/freeze", {})
    _register(tok)
    _json("POST", SIM_PORT, "/_sim/faults", {"kind": "delay", "params": {"delay_s": 60}})
    for n in range(events):
        _create(tok, n)
    started = time.monotonic()
    _json("POST", SIM_PORT, "/_sim/clock/advance", {"seconds": 61})
    done = _wait_count(events, timeout_s=120)
    seconds = done - started
    return {"events": events, "seconds": round(seconds, 3), "per_s": round(events / seconds)}


def lag(rate: int, seconds: int) -> dict[str, Any]:
    _json("POST", SIM_PORT, "/_sim/reset")
    _json("POST", RECEIVER_PORT, "/clear")
    tok = token(SIM_PORT)
    _register(tok)
    total = rate * seconds
    started = time.monotonic()
    for n in range(total):
        due = started + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        _create(tok, n)
    achieved = total / (time.monotonic() - started)
    _wait_count(total, timeout_s=60)
    lags_ms = []
    for arrived, occurred in _arrivals():
        moment = datetime.fromisoformat(occurred.replace("Z", "+00:00")).timestamp()
        lags_ms.append((arrived - moment) * 1000)
    lags_ms.sort()
    return {
        "events": total,
        "offered_per_s": rate,
        "achieved_per_s": round(achieved),
        "p50_ms": round(statistics.median(lags_ms), 2),
        "p99_ms": round(lags_ms[int(len(lags_ms) * 0.99) - 1], 2),
        "max_ms": round(lags_ms[-1], 2),
    }


def request_path(bench: Bench) -> dict[str, Any]:
    _json("POST", SIM_PORT, "/_sim/reset")
    tok = token(SIM_PORT)
    results: dict[str, list[dict[str, Any]]] = {"no_endpoint": [], "one_endpoint": []}
    load = Load("POST", SIM_PORT, "/accounts", tok)
    bench.drive(load, 3, record=False)
    for _ in range(bench.runs):
        for name in results:
            _json("POST", SIM_PORT, "/_sim/reset")
            tok = token(SIM_PORT)
            load = Load("POST", SIM_PORT, "/accounts", tok)
            if name == "one_endpoint":
                _register(tok)
            results[name].append(bench.drive(load, bench.duration_s))
    medians = {n: statistics.median(r["rps"] for r in runs) for n, runs in results.items()}
    return {
        "runs": results,
        "median_rps": medians,
        "ratio": round(medians["one_endpoint"] / medians["no_endpoint"], 3),
    }


def markdown(res: dict[str, Any]) -> str:
    t, lg, rp = res["throughput"], res["lag"], res["request_path"]
    rows = [
        ("dispatcher throughput to a local receiver", ">= 2,000 deliveries/s",
         f"{t['per_s']:,}/s ({t['events']:,} events in {t['seconds']} s)", t["per_s"] >= 2000),
        (f"delivery lag at {lg['offered_per_s']} events/s", "p99 <= 50 ms",
         f"p50 {lg['p50_ms']} ms, p99 {lg['p99_ms']} ms, max {lg['max_ms']} ms "
         f"(achieved {lg['achieved_per_s']}/s)", lg["p99_ms"] <= 50),
        ("request path with one endpoint vs none (POST /accounts)", "slows <= 10 %",
         f"{rp['median_rps']['one_endpoint']:,.0f} vs {rp['median_rps']['no_endpoint']:,.0f} rps "
         f"({rp['ratio']:.3f} x)", rp["ratio"] >= 0.9),
    ]  # fmt: skip
    out = [
        "# Webhook dispatcher (target 6)",
        "",
        f"{res['environment']['date']}, load average at start {res['load_average']}, "
        f"nproc {res['environment']['nproc']}. Simulator on core 0; receiver and load on "
        "core 1.",
        "",
        "| what | target | measured | verdict |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {'PASS' if ok else 'FAIL'} |" for a, b, c, ok in rows],
        "",
        f"Command: `{res['command']}`",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--lag-seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--output", type=Path, default=RESULTS / "webhooks")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk")
    bench = Bench(args.duration, args.runs, 32, wrk)
    receiver = receiver_server(RECEIVER_PORT)
    receiver_core = sims.SERVER_CORE
    sims.SERVER_CORE = sims.LOAD_CORE  # the receiver runs beside the load generator
    res: dict[str, Any] = {"load_average": [round(x, 2) for x in os.getloadavg()],
                           "command": " ".join(["python", *sys.argv])}  # fmt: skip
    try:
        with running(receiver):
            sims.SERVER_CORE = receiver_core
            with running(sim_server(SIM_PORT)):
                sims._say("throughput ...")
                res["throughput"] = throughput(args.events)
                sims._say(f"throughput: {res['throughput']}")
                sims._say("lag ...")
                res["lag"] = lag(args.rate, args.lag_seconds)
                sims._say(f"lag: {res['lag']}")
                sims._say("request path ...")
                res["request_path"] = request_path(bench)
                sims._say(f"request path: {res['request_path']['median_rps']}")
    finally:
        sims.SERVER_CORE = receiver_core
    res["environment"] = sims.environment(wrk)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    text = markdown(res)
    args.output.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
