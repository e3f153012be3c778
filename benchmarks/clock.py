"""The estate clock (target 13): a simulated year over 1,000 subscriptions in <= 10 s.

    python benchmarks/clock.py                    # all three measurements, ~30-50 s
    python benchmarks/clock.py --subscriptions 300 --skip-estate

1. ``advance``: one billing simulator in process (ASGI, no server), 1,000 subscriptions
   (monthly, trials, cancel at period end, a failing card that runs dunning to its end),
   then one ``POST /_sim/clock/advance`` of a year: the job engine's own cost.
2. ``baseline`` (same run): the same year driven by hand, calling the billing rules
   (``run_invoice_cycle``, ``run_dunning``) once per simulated day in a transaction,
   with no scheduler: the ratio advance / baseline is the engine's overhead.
3. ``estate``: the five simulators as processes (``golive up``'s way, ports 19300+),
   the same subscriptions made in process and loaded through ``POST /_sim/seed``, then
   the estate clock's stepped advance of a year with settle at the default step (1 h)
   and quiet period (100 ms).

Writes ``benchmarks/results/clock.json`` and ``clock.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT))

T0 = datetime(2027, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2028, 1, 1, tzinfo=UTC)
RESULTS = _ROOT / "benchmarks" / "results"


def _plans(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        kind = rng.choices(("monthly", "trial", "cancel", "failing"), (40, 20, 15, 25))[0]
        out.append({
            "n": n, "kind": kind,
            "start": (date(2027, 1, 1) + timedelta(days=rng.randrange(31))).isoformat(),
            "trial_days": rng.choice((14, 30)) if kind == "trial" else 0,
            "term_months": rng.choice((1, 3, 6, 12)),
            "card": "4000000000000341" if kind == "failing" else "4242424242424242",
        })  # fmt: skip
    return out


def _customer(plan: dict[str, Any]) -> dict[str, Any]:
    return {"name": f"C{plan['n']}", "email": f"c{plan['n']}@example.test",
            "payment_method": plan["card"]}  # fmt: skip


def _subscription(plan: dict[str, Any], customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "start_date": plan["start"],
            "trial_days": plan["trial_days"], "term_months": plan["term_months"],
            "items": [{"sku": "SEAT", "quantity": 3, "unit_amount_minor": 4_900}]}  # fmt: skip


async def _arranged(plans: list[dict[str, Any]]) -> tuple[Any, Any]:
    import httpx

    from simulators.registry import create_app
    from simulators.testing import DEFAULT_CLIENT, fetch_token

    app = create_app("billing")
    app.state.sim.clock.freeze(T0)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b.test")
    client.headers["Authorization"] = "Bearer " + await fetch_token(client, *DEFAULT_CLIENT)
    for plan in plans:
        customer = (await client.post("/customers", json=_customer(plan))).json()
        sub = await client.post("/subscriptions", json=_subscription(plan, customer["id"]))
        if plan["kind"] == "cancel":
            await client.post(f"/subscriptions/{sub.json()['id']}/cancel",
                              json={"at_period_end": True})  # fmt: skip
    return app, client


def _counts(state: Any) -> dict[str, int]:
    return {"invoices": len(state.col("invoice")), "payments": len(state.col("payment")),
            "events": len(state.rt.events)}  # fmt: skip


async def _advance(plans: list[dict[str, Any]]) -> dict[str, Any]:
    app, client = await _arranged(plans)
    before = _counts(app.state.sim)
    started, cpu = time.perf_counter(), time.process_time()
    answer = await client.post("/_sim/clock/advance", json={"to": "2028-01-01T00:00:00Z"})
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    await client.aclose()
    assert answer.status_code == 200, answer.text
    after = _counts(app.state.sim)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "job_runs": answer.json()["ran"]["runs"],
            "made": {k: after[k] - before[k] for k in after}}  # fmt: skip


async def _baseline(plans: list[dict[str, Any]]) -> dict[str, Any]:
    from simulators.kit.uow import transaction

    app, client = await _arranged(plans)
    await client.aclose()
    state = app.state.sim
    before = _counts(state)
    started, cpu = time.perf_counter(), time.process_time()
    day = T0
    while day < YEAR_END:
        day += timedelta(days=1)
        state.clock.advance_to(day)
        with transaction(state.rt):
            state.run_invoice_cycle(day)
            state.run_dunning(day)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = _counts(state)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "made": {k: after[k] - before[k] for k in after}}  # fmt: skip


def _estate(plans: list[dict[str, Any]]) -> dict[str, Any]:
    from golive.estateclock import EstateClock
    from simulators.estate import running_estate
    from simulators.serve import port_is_free

    base = next(p for p in range(19300, 19495, 5)
                if all(port_is_free("127.0.0.1", p + i) for i in range(5)))  # fmt: skip
    with running_estate(base_port=base, mode="processes") as estate:
        clock = EstateClock(estate.urls, estate.admin_headers)
        clock.freeze(T0)
        app, client = asyncio.run(_arranged(plans))
        asyncio.run(client.aclose())
        with estate.client("billing") as billing:
            seeded = billing.post("/_sim/seed", json={"objects": app.state.sim.export()})
            assert seeded.status_code == 200, seeded.text
        time.sleep(0.2)  # the quiet period after the set-up's requests
        result = clock.advance(to=YEAR_END)
        clock.close()
        with estate.client("billing") as billing:
            metrics = billing.get("/metrics").text
        invoices = int(float(next(line.split()[-1] for line in metrics.splitlines()
                                  if line.startswith("golive_objects_invoice{"))))  # fmt: skip
    return {"wall_s": round(result.seconds, 3), "ok": result.ok, "steps": result.steps,
            "jumps": result.jumps, "waits": result.waits, "invoices": invoices,
            "job_runs": result.runs.get("billing", {}), "unsettled": result.unsettled,
            "base_port": base}  # fmt: skip


def _markdown(out: dict[str, Any]) -> str:
    n = out["subscriptions"]
    rows = [f"| one billing simulator, one `POST /_sim/clock/advance` | "
            f"{out['advance']['wall_s']} | {out['advance']['cpu_s']} | "
            f"{out['advance']['made']['invoices']} invoices, "
            f"{out['advance']['made']['events']} events |",
            f"| baseline: the same rules called per day by hand, no scheduler | "
            f"{out['baseline']['wall_s']} | {out['baseline']['cpu_s']} | "
            f"{out['baseline']['made']['invoices']} invoices |"]  # fmt: skip
    if "estate" in out:
        e = out["estate"]
        rows.append(f"| five simulators (processes), stepped estate advance, step 1 h, "
                    f"quiet 100 ms | {e['wall_s']} | - | {e['steps']} steps ({e['jumps']} "
                    f"jumps), {e['invoices']} invoices, settled: {e['ok']} |")  # fmt: skip
    return "\n".join([
        f"# The estate clock: a simulated year over {n:,} subscriptions (target 13: <= 10 s)",
        "", "| what | wall s | cpu s | made |", "|---|---|---|---|", *rows, "",
        f"Engine overhead (advance / baseline, CPU): {out['ratio_cpu']}.",
        f"Machine: {out['machine']['cpu']}, nproc {out['machine']['nproc']}, "
        f"Python {out['machine']['python']}, load average at the end "
        f"{out['machine']['load_average']} (a shared machine: wall times move with it). "
        f"Command: `{out['command']}`.", "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--skip-estate", action="store_true")
    args = parser.parse_args()
    plans = _plans(args.subscriptions)
    out: dict[str, Any] = {"subscriptions": args.subscriptions,
                           "advance": asyncio.run(_advance(plans)),
                           "baseline": asyncio.run(_baseline(plans))}  # fmt: skip
    out["ratio_cpu"] = round(out["advance"]["cpu_s"] / max(out["baseline"]["cpu_s"], 1e-9), 3)
    if not args.skip_estate:
        out["estate"] = _estate(plans)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    out["machine"] = {"cpu": cpu, "nproc": os.cpu_count(), "python": platform.python_version(),
                      "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    out["command"] = "python " + " ".join(["benchmarks/clock.py", *sys.argv[1:]])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "clock.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "clock.md").write_text(_markdown(out))
    print(_markdown(out))


if __name__ == "__main__":
    main()
