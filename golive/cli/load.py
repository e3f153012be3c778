"""``golive load``: quarter-end traffic with Locust against the simulators or staging.

Locust always runs as a subprocess (its gevent patching must not reach golive); the
command only parses options, prints where traffic will go, and renders the verdict.
"""

from __future__ import annotations

import json
import platform
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from golive.errors import CheckFailed, GoliveError, UsageProblem

__all__ = ["register"]

_OUT_HELP = "Report folder (default: a new folder under ./golive-reports/)."


def register(app: typer.Typer) -> None:
    app.command("load")(load)


def load(
    target: str = typer.Option(
        "local", "--target", help="A target of golive.toml; local: the simulators."
    ),
    shape: str = typer.Option(
        "quarter-end", "--shape", help="quarter-end (10x peak), month-end (3x) or steady."
    ),
    duration: str = typer.Option(
        "2m", "--duration", help="The whole shape, 1 s to 24h: 90, 90s, 2m, 1.5m, 1h30m."
    ),
    users: int = typer.Option(
        50, "--users", min=1, help="Users at the peak (steady: all the time)."
    ),
    processes: int | None = typer.Option(
        None, "--processes", min=1, help="Locust worker processes on this machine."
    ),
    master: bool = typer.Option(
        False, "--master", help="Be the master of Locust workers on other machines."
    ),
    expect_workers: int = typer.Option(
        1, "--expect-workers", min=1, help="With --master: workers to wait for."
    ),
    master_bind_host: str = typer.Option(
        "*", "--master-bind-host", help="With --master: interface to listen on."
    ),
    worker: bool = typer.Option(False, "--worker", help="Be a Locust worker of --master-host."),
    master_host: str | None = typer.Option(
        None, "--master-host", help="With --worker: the master's address."
    ),
    master_port: int = typer.Option(
        5557, "--master-port", min=1, max=65535, help="The master's port."
    ),
    paced: bool = typer.Option(
        False,
        "--paced",
        help="Users start flows at their pace whatever responses take: "
        "the users fix the offered rate (a slow system does not slow its load).",
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Reference data folder (golive data generate); staging needs it."
    ),
    accounts: int = typer.Option(
        200, "--accounts", min=10, help="Accounts to generate for simulators without --data."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of the generated data."),
    reset_simulators: bool = typer.Option(
        False, "--reset-simulators", help="Empty the target's simulators before seeding them."
    ),
    base_port: int | None = typer.Option(
        None, "--base-port", min=1, max=65530, help="Move the target's simulators."
    ),
    slo: list[str] = typer.Option(
        [],
        "--slo",
        help="Override one SLO, key=value; repeat for more: "
        "--slo p95_ms=500 --slo error_rate=0.02.",
    ),
    out: Path | None = typer.Option(None, "--out", help=_OUT_HELP),
    i_own_this_target: bool = typer.Option(
        False, "--i-own-this-target", help="Load a target off loopback not marked owned."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="golive.toml to read (default: ./golive.toml)."
    ),
) -> None:
    """Replay a quarter-end mix with Locust, check the SLOs, write the report; exit 1 on a miss.

    Example: golive load --target local --shape quarter-end --duration 2m --users 100 --processes 2
    """
    from golive.config import load_config
    from golive.loadrun import SHAPES, LoadPlan, check_ownership, parse_duration
    from golive.loadslo import parse_slos

    if shape not in SHAPES:
        raise UsageProblem(f"--shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    if sum(bool(x) for x in (processes, master, worker)) > 1:
        raise UsageProblem("--processes, --master and --worker exclude each other")
    if worker and not master_host:
        raise UsageProblem("--worker needs --master-host (where golive load --master runs)")
    if master_host and not worker:
        raise UsageProblem("--master-host goes with --worker")
    if expect_workers != 1 and not master:
        raise UsageProblem("--expect-workers goes with --master")
    seconds = parse_duration(duration)
    cfg = load_config(config)
    urls = cfg.target(target, base_port)
    spec = cfg.target_spec(target)
    slos = parse_slos(cfg.load_slos, slo)
    check_ownership(target, urls, cfg.target_owned(target) or i_own_this_target)
    client_id, secret = cfg.credentials(target)
    plan = LoadPlan(
        target=target, urls=urls, shape=shape, duration_s=seconds, users=users,
        out=_out_dir(out, target, shape), data=data, client_id=client_id, client_secret=secret,
        processes=processes, master=master, worker=worker, master_host=master_host or "",
        master_port=master_port, master_bind_host=master_bind_host, expect_workers=expect_workers,
        paced=paced,
    )  # fmt: skip
    _announce(plan)  # before anything at all is sent
    if reset_simulators and not spec.simulated:
        raise UsageProblem(f"--reset-simulators: target {target!r} is not simulated")
    existed = plan.out.exists()
    try:  # the report folder appears only for a run about to start
        _prepare(plan, spec.simulated, accounts, seed, reset_simulators)
        _make_folder(plan.out)
    except (GoliveError, KeyboardInterrupt):
        if not existed:
            shutil.rmtree(plan.out, ignore_errors=True)
        raise
    if worker:
        _run_worker(plan)
        return
    started = datetime.now(UTC)
    wall = time.perf_counter()
    code, interrupted = _run_until_stopped(plan)
    _finish(plan, slos, code, started, time.perf_counter() - wall, interrupted)


def _out_dir(out: Path | None, target: str, shape: str) -> Path:
    """Where the report goes; the folder itself is made only when the run starts."""
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path("golive-reports") / f"load-{target}-{shape}-{stamp}"
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out}: exists and is not a folder")
    return out


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(f"--out {out}: cannot create the folder: {exc.strerror}") from None


class Interrupted(GoliveError):
    """The run was stopped by a signal; its reports are written and say so."""

    def __init__(self, message: str, signame: str) -> None:
        super().__init__(message)
        self.exit_code = 143 if signame == "SIGTERM" else 130


def _run_until_stopped(plan: Any) -> tuple[int, str]:
    """Run Locust; SIGINT or SIGTERM stops it the way it stops itself (reports written).

    Returns Locust's exit code and the name of the signal that stopped the run, if any.
    """
    received: list[str] = []

    def on_sigterm(signum: int, frame: Any) -> None:
        received.append("SIGTERM")
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return _run_with_progress(plan), ""
    except KeyboardInterrupt:
        return -1, received[0] if received else "SIGINT"
    finally:
        signal.signal(signal.SIGTERM, previous)


def _announce(plan: Any) -> None:
    from golive.render import console, table

    what = "worker" if plan.worker else f"{plan.shape} load, {plan.users} users at the peak"
    table(f"golive load: {what}, {plan.duration_s:g} s, target {plan.target!r} ({plan.mode})",
          ["system", "traffic goes to"], sorted(plan.urls.items()))  # fmt: skip
    console.print(f"report folder: {plan.out}")


def _prepare(plan: Any, simulated: bool, accounts: int, seed: int, reset: bool) -> None:
    from golive.loadrun import ensure_seeded, prepare_data, reset_simulators
    from golive.render import console

    if reset and not plan.worker:
        reset_simulators(plan.urls)
        console.print("emptied the simulators (POST /_sim/reset)")
    plan.data = prepare_data(plan.out, plan.data, simulated, plan.urls, accounts, seed,
                             lambda step: console.print(step))  # fmt: skip
    if simulated and not plan.worker:
        if ensure_seeded(plan.urls, plan.data, plan.client_id, plan.client_secret):
            console.print(f"seeded the simulators with {plan.data}")
        else:
            console.print(f"the simulators already hold {plan.data}")


def _run_worker(plan: Any) -> None:
    from golive.loadrun import last_log_line, run_locust
    from golive.render import console

    console.print(f"worker: connecting to {plan.master_host}:{plan.master_port}; Ctrl-C stops")
    code = run_locust(plan)
    if code not in (0, 1):  # 1 only says some requests failed; the master judges
        raise UsageProblem(f"the Locust worker stopped: {last_log_line(plan.out)}")
    console.print(f"worker finished; log in {plan.out / 'locust.log'}")


def _run_with_progress(plan: Any) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from golive.loadrun import read_progress, run_locust
    from golive.render import err_console
    from loadtests.stages import month_end_stages, quarter_end_stages, stage_at

    build = {"quarter-end": quarter_end_stages, "month-end": month_end_stages}.get(plan.shape)
    stages = build(plan.users, plan.duration_s) if build else []
    quiet = not err_console.is_terminal
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task("starting Locust", total=plan.duration_s)

        def tick(elapsed: float) -> None:
            stage = stage_at(stages, elapsed) if stages else None
            now = read_progress(plan.out / "locust_stats.csv") or {}
            where = f"{stage.name} ({stage.users} users)" if stage else plan.shape
            progress.update(task, completed=min(elapsed, plan.duration_s), description=(
                f"{where}: {now.get('requests', 0):,.0f} requests, "
                f"{now.get('rps', 0):,.0f}/s, {now.get('failures', 0):,.0f} failed"))  # fmt: skip

        return run_locust(plan, tick)


def _finish(
    plan: Any, slos: Any, code: int, started: datetime, wall_s: float, interrupted: str = ""
) -> None:
    from golive.loadrun import read_result
    from golive.loadslo import evaluate

    try:
        result = read_result(plan)
    except GoliveError:
        if not interrupted:
            raise
        result = {"entries": [], "errors": []}  # stopped before Locust wrote its stats
    summary = evaluate(result, slos)
    if interrupted:
        summary["passed"] = False
        summary["checks"].insert(0, {
            "name": "run completed", "metric": "interrupted", "value": 0.0, "threshold": 0.0,
            "passed": False, "detail": f"interrupted by {interrupted}",
        })  # fmt: skip
    summary = {
        "target": plan.target, "urls": plan.urls, "shape": plan.shape,
        "duration_s": plan.duration_s, "users": plan.users, "mode": plan.mode,
        "paced": plan.paced, "data": str(plan.data), **summary,
        "workers_seen": len(result.get("workers_seen", [])),
        "locust_exit_code": code, "interrupted": interrupted or None,
        "files": {"locust_html": "locust.html", "locust_csv": "locust_stats.csv",
                  "locust_log": "locust.log", "junit": "junit.xml"},
        "meta": _meta(started, wall_s),
    }  # fmt: skip
    _write(plan.out, summary)
    _render(summary, plan.out)
    if interrupted:
        raise Interrupted(
            f"the load run was interrupted by {interrupted}; partial results in "
            f"{plan.out / 'summary.json'}",
            interrupted,
        )
    if not summary["passed"]:
        failed = [c for c in summary["checks"] if not c["passed"]]
        first = failed[0]
        what = _miss(first)
        raise CheckFailed(
            f"{len(failed)} load SLO check(s) missed ({what}); see {plan.out / 'summary.json'}"
        )


def _meta(started: datetime, wall_s: float) -> dict[str, Any]:
    from importlib.metadata import version

    from golive import __version__

    return {
        "golive": __version__, "locust": version("locust"), "python": platform.python_version(),
        "command": " ".join(["golive", *sys.argv[1:]]), "host": platform.node(),
        "started_at": started.isoformat(timespec="seconds"), "wall_time_s": round(wall_s, 2),
    }  # fmt: skip


def _miss(check: dict[str, Any]) -> str:
    """One missed check in words (the exit line and the junit failure message)."""
    if check.get("detail"):
        return f"{check['name']}: {check['detail']}"
    if check["metric"] == "requests":
        return f"only {check['value']:g} requests, fewer than {check['threshold']:g}"
    return f"{check['name']}: {check['value']:g} > {check['threshold']:g}"


def _write(out: Path, summary: dict[str, Any]) -> None:
    from golive.report import JunitCase, write_junit

    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    cases = [
        JunitCase(c["name"], f"load.{summary['target']}.{summary['shape']}",
                  "" if c["passed"] else _miss(c))
        for c in summary["checks"]
    ]  # fmt: skip
    write_junit(out / "junit.xml", f"load {summary['target']} {summary['shape']}", cases)


def _render(summary: dict[str, Any], out: Path) -> None:
    from rich.markup import escape
    from rich.text import Text

    from golive.render import console, table

    rows = [(r["request"], f"{r['requests']:,}", f"{r['failures']:,}", r["p50_ms"],
             r["p95_ms"], r["p99_ms"], r["max_ms"]) for r in summary["requests"]]  # fmt: skip
    t = summary["total"]
    rows.append(("all requests", f"{t['requests']:,}", f"{t['failures']:,}", t["p50_ms"],
                 t["p95_ms"], t["p99_ms"], t["max_ms"]))  # fmt: skip
    table(f"load {summary['shape']} on {summary['target']} (ms)",
          ["request", "requests", "failed", "p50", "p95", "p99", "max"], rows)  # fmt: skip
    faults = summary["faults"]
    if faults["requests"]:
        console.print(f"{faults['requests']:,} responses carried X-Golive-Fault: counted apart")
    for err in summary["errors"][:5]:
        what = escape(f"{err['method']} {err['name']}: {err['error']}")
        console.print(f"[red]{err['occurrences']:,} x {what}[/]")
    missed = [c for c in summary["checks"] if not c["passed"]]
    table("SLO checks", ["check", "value", "limit", "result"],
          [(c["name"], c.get("detail") or f"{c['value']:g}", f"{c['threshold']:g}",
            Text("pass", style="green") if c["passed"] else Text("MISSED", style="red"))
           for c in (missed or summary["checks"][:2])])  # fmt: skip
    if not missed:
        console.print(f"all {len(summary['checks'])} SLO checks met")
    console.print(f"report: {out / 'locust.html'}, {out / 'summary.json'}, {out / 'junit.xml'}")
