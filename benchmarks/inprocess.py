"""In-process cost of one simulator request (target 4: what the request path adds).

Calls the CRM app as ASGI directly, without a server or a client, so the number is
the simulator's own work per request (middleware, unit of work, route, rules, JSON):

    python benchmarks/inprocess.py                      # this tree: one JSON line
    python benchmarks/inprocess.py --tree /tmp/base     # another checkout, same script
    python benchmarks/inprocess.py --compare /tmp/base  # both, alternating, with ratios

Each measurement is the best of ``--repeat`` rounds of ``--requests`` requests, in
CPU time of the process (so a shared machine's other work counts less):
``POST /accounts`` with a unique Idempotency-Key (on an emptied store each round)
and ``GET /accounts/{id}``. ``--compare`` runs this tree and a baseline tree (say
``git archive main``) in turn, ``--runs`` times each, in subprocesses (pinned with
``--pin CORE``), and writes ``benchmarks/results/inprocess.json``
and ``inprocess.md`` with the median cost per request and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve()


async def _measure(
    tree: Path, requests: int, repeat: int, only: tuple[str, ...] = ("get", "post")
) -> dict[str, Any]:
    sys.path.insert(0, str(tree))
    import httpx

    from simulators.registry import create_app
    from simulators.testing import DEFAULT_CLIENT, fetch_token

    app = create_app("crm")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
        token = "Bearer " + await fetch_token(client, *DEFAULT_CLIENT)
        created = await client.post("/accounts", json={"name": "Probe"},
                                    headers={"Authorization": token})  # fmt: skip
        account_id = created.json()["id"]
    body = b'{"name": "Acme Corp", "currency": "USD"}'

    def scope(method: str, path: str, extra: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
            "server": ("crm.test", 80), "app": app,
            "headers": [(b"host", b"crm.test"), (b"authorization", token.encode()), *extra],
        }  # fmt: skip

    statuses: list[int] = []

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive_body() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def receive_empty() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    post_headers = [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]  # fmt: skip
    get_path = f"/accounts/{account_id}"
    results: dict[str, float] = {}
    for name in only:
        best = float("inf")
        for round_ in range(repeat):
            if name == "post":
                state = app.state.sim
                state.store["account"].clear()  # every round starts on an empty store
            gc.collect()
            started = time.process_time()  # CPU time: a busy neighbour's time slices excluded
            for n in range(requests):
                if name == "get":
                    await app(scope("GET", get_path, []), receive_empty, send)
                else:
                    key = f"k-{round_}-{n}".encode()
                    headers = [*post_headers, (b"idempotency-key", key)]
                    await app(scope("POST", "/accounts", headers), receive_body, send)
            best = min(best, (time.process_time() - started) / requests)
        results[f"{name}_us"] = round(best * 1e6, 2)
    expected = {200, 201}
    assert set(statuses) <= expected, sorted(set(statuses) - expected)
    import simulators

    return {"tree": str(tree), "simulators": simulators.__file__, **results}


def _run_once(tree: Path, requests: int, repeat: int, pin: str | None) -> dict[str, Any]:
    command = [sys.executable, str(_HERE), "--tree", str(tree),
               "--requests", str(requests), "--repeat", str(repeat)]  # fmt: skip
    if pin is not None and shutil.which("taskset"):
        command = ["taskset", "-c", pin, *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _compare(baseline: Path, requests: int, repeat: int, runs: int, pin: str | None) -> None:
    here = _HERE.parents[1]
    samples: dict[str, list[dict[str, Any]]] = {"baseline": [], "this tree": []}
    for _ in range(runs):
        samples["baseline"].append(_run_once(baseline, requests, repeat, pin))
        samples["this tree"].append(_run_once(here, requests, repeat, pin))
    medians = {
        side: {m: statistics.median(r[m] for r in rs) for m in ("get_us", "post_us")}
        for side, rs in samples.items()
    }
    ratios = {m: medians["this tree"][m] / medians["baseline"][m] for m in ("get_us", "post_us")}
    # The fastest run of each side is the one least disturbed by the rest of the machine.
    fastest = {
        side: {m: min(r[m] for r in rs) for m in ("get_us", "post_us")}
        for side, rs in samples.items()
    }
    fastest_ratios = {
        m: fastest["this tree"][m] / fastest["baseline"][m] for m in ("get_us", "post_us")
    }
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "nproc": os.cpu_count(),
        "requests": requests, "repeat": repeat, "runs": runs, "pinned_core": pin,
        "baseline_tree": str(baseline), "tree": str(here),
        "samples": samples, "median_us": medians, "cost_ratio": ratios,
        "fastest_us": fastest, "fastest_cost_ratio": fastest_ratios,
    }  # fmt: skip
    results = here / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "inprocess.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        "| request | baseline us (median) | this tree us (median) | cost ratio (median) "
        "| cost ratio (fastest runs) | runs (this tree) |",
        "|---|---|---|---|---|---|",
    ]
    for metric, label in (("get_us", "GET /accounts/{id}"), ("post_us", "POST /accounts (key)")):
        runs_text = ", ".join(f"{r[metric]:.1f}" for r in samples["this tree"])
        base, mine = medians["baseline"][metric], medians["this tree"][metric]
        rows.append(f"| {label} | {base:.1f} | {mine:.1f} | {ratios[metric]:.3f} "
                    f"| {fastest_ratios[metric]:.3f} | {runs_text} |")  # fmt: skip
    table = "\n".join(rows)
    (results / "inprocess.md").write_text(
        "# In-process cost per request (ASGI, no server, no client)\n\n" + table + "\n"
    )
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=_HERE.parents[1])
    parser.add_argument("--compare", type=Path, help="a baseline tree to compare with")
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("get", "post"), help="measure one request kind")
    parser.add_argument("--pin", help="run on this core (taskset -c), e.g. 0 on a quiet machine")
    args = parser.parse_args()
    if args.compare is not None:
        _compare(args.compare.resolve(), args.requests, args.repeat, args.runs, args.pin)
        return
    only = (args.only,) if args.only else ("get", "post")
    result = asyncio.run(_measure(args.tree.resolve(), args.requests, args.repeat, only))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
