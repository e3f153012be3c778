"""``golive scenario list|show|run``: discrete-event scenarios of the estate.

Only cheap imports at module level: SimPy, numpy, matplotlib and Dask load inside the
commands, so ``golive --help`` stays instant.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from golive.errors import CheckFailed, UsageProblem

__all__ = ["register", "scenario_app"]

scenario_app = typer.Typer(
    help="Outage, duplicate and quarter-end scenarios.\n\n"
    "Example: golive scenario run erp-outage --mode sim --replications 5",
    no_args_is_help=True,
)
_SPEED_HELP = "live: simulated seconds per wall second (default 3600: an hour a second)."
_SCALE_HELP = "live: share of the profile's deals driven (0-1, seeded; default 1)."
_MAX_DEALS_HELP = "live: at most this many deals, spread over the profile (default 40)."
_SUT_HELP = "live: reference, naive, or the URL of your middleware (default: [sut] or reference)."
_TARGET_HELP = "live: attach to the simulators of this golive.toml target (default: start them)."
_BASE_PORT_HELP = "live: attach to simulators started with `golive up --base-port P`."


_OUT_HELP = "Report folder (default: a new folder under ./golive-reports/)."
_SWEEP_HELP = "Sweep a field: key=v1,v2,... (the run passes when one point meets every SLO)."
_WORKERS_HELP = "Worker processes (default: one per core; 1 runs inline)."
_DASK_HELP = "Run on a Dask cluster at tcp://HOST:PORT (pip install 'golive\\[dask]')."


def register(app: typer.Typer) -> None:
    app.add_typer(scenario_app, name="scenario")


def _load(name: str, assignments: list[str]) -> Any:
    from scenarios.catalog import ScenarioError, load_scenario

    try:
        return load_scenario(name, assignments)
    except ScenarioError as exc:
        raise UsageProblem(str(exc)) from None


@scenario_app.command("list")
def list_() -> None:
    """List the scenarios in the library.

    Example: golive scenario list
    """
    from golive.render import table
    from scenarios.catalog import library_names

    rows = []
    for name in library_names():
        spec = _load(name, [])
        faults = ", ".join(sorted({f"{f.system}:{f.kind}" for f in spec.faults})) or "-"
        rows.append((name, f"{spec.duration_hours:g} h", faults, len(spec.slos), spec.description))
    table("scenario library", ["name", "duration", "faults", "SLOs", "description"], rows)


@scenario_app.command("show")
def show(
    name: str = typer.Argument(..., help="Library name or path to a scenario file."),
    set_: list[str] = typer.Option([], "--set", help="Override a field: key=value."),
) -> None:
    """Show a scenario with every default filled in, as YAML.

    Example: golive scenario show erp-outage --set middleware.workers=16
    """
    import yaml

    from golive.render import console

    spec = _load(name, set_)
    text = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    console.print(text, end="", markup=False, highlight=False)  # the YAML as it is


def _out_dir(out: Path | None, name: str) -> Path:
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path("golive-reports") / f"scenario-{name}-{stamp}"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    return out


def _executor(workers: int | None, dask: str | None, tasks: int) -> str:
    """What ran the replications, by the rule of ``scenarios.runner.run_plan``."""
    if dask:
        return f"dask {dask}"
    n = min(workers or os.cpu_count() or 1, tasks)
    return "inline" if n <= 1 else f"processes ({n})"


def _meta(
    argv: list[str], wall_s: float, workers: int | None, dask: str | None, tasks: int
) -> dict[str, Any]:
    import numpy
    import simpy

    from golive import __version__

    return {
        "golive": __version__,
        "simpy": simpy.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "command": " ".join(["golive", *argv]),
        "wall_time_s": round(wall_s, 3),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "executor": _executor(workers, dask, tasks),
        "host": platform.node(),
    }


@scenario_app.command("run")
def run(
    name: str = typer.Argument(..., help="Library name or path to a scenario file."),
    mode: str = typer.Option("sim", "--mode", help="sim (SimPy model) or live (the estate)."),
    replications: int = typer.Option(5, "--replications", "-n", help="Monte Carlo replications."),
    seed: int | None = typer.Option(None, "--seed", help="Override the scenario's seed."),
    set_: list[str] = typer.Option([], "--set", help="Override a field: key=value (repeatable)."),
    sweep: str | None = typer.Option(None, "--sweep", help=_SWEEP_HELP),
    out: Path | None = typer.Option(None, "--out", help=_OUT_HELP),
    workers: int | None = typer.Option(None, "--workers", min=1, help=_WORKERS_HELP),
    dask_scheduler: str | None = typer.Option(None, "--dask-scheduler", help=_DASK_HELP),
    speed: float = typer.Option(3600.0, "--speed", help=_SPEED_HELP),
    scale: float = typer.Option(1.0, "--scale", help=_SCALE_HELP),
    max_deals: int = typer.Option(40, "--max-deals", help=_MAX_DEALS_HELP),
    sut: str | None = typer.Option(None, "--sut", help=_SUT_HELP),
    config: Path | None = typer.Option(None, "--config", help="live: golive.toml to read."),
    target: str | None = typer.Option(None, "--target", help=_TARGET_HELP),
    base_port: int | None = typer.Option(
        None, "--base-port", min=1, max=65531, help=_BASE_PORT_HELP
    ),
    compare: bool = typer.Option(
        True, "--compare/--no-compare", help="live: run the model side by side (default on)."
    ),
    settle: float = typer.Option(
        2.0,
        "--settle",
        min=0.05,
        max=600,
        help="live: wall seconds the estate and middleware get to settle at each step.",
    ),
    invoice_run: bool = typer.Option(
        True,
        "--invoice-run/--no-invoice-run",
        help="live: after the timeline, follow the estate to billing's first invoice run.",
    ),
    through_renewal: bool = typer.Option(
        False,
        "--through-renewal",
        help="live: follow every invoice run on to each deal's renewal and the renewed "
        "term's first invoice.",
    ),
) -> None:
    """Run a scenario and write report.html, summary.json and junit.xml.

    Exit 0 when every SLO holds (mean across replications <= threshold); in a sweep,
    when at least one point meets every SLO. Exit 1 when that fails, or when the
    scenario defines no SLOs (nothing was checked). Exit 2 on bad usage.

    --mode live drives the scenario against the simulators and a real middleware and
    judges it with the oracle: exit 0 when every invariant holds and every SLO a live run
    can measure is met, 1 otherwise, 2 on bad usage (docs/live-scenarios.md).

    Example: golive scenario run quarter-end-spike --mode sim --sweep middleware.workers=2,3,4,8

    Example: golive scenario run erp-outage --mode live --speed 20000 --max-deals 30
    """
    if mode == "live":
        from golive.cli.scenario_live import LiveArgs, run_live_command

        if sweep or dask_scheduler:
            raise UsageProblem("--sweep and --dask-scheduler apply to --mode sim only")
        given = [*set_, *([f"seed={seed}"] if seed is not None else [])]
        run_live_command(LiveArgs(name, given, out, speed, scale, max_deals, sut, config, target,
                                  base_port, compare, invoice_run, settle,
                                  through_renewal))  # fmt: skip
        return
    if mode == "simulated":
        mode = "sim"
    if mode != "sim":
        raise UsageProblem(f"--mode must be sim or live, not {mode!r}")
    if replications < 1:
        raise UsageProblem("--replications must be at least 1")
    from scenarios.catalog import ScenarioError
    from scenarios.runner import DaskMissing, make_plan, run_plan
    from scenarios.summary import aggregate

    spec = _load(name, [*set_, *([f"seed={seed}"] if seed is not None else [])])
    try:
        plan = make_plan(spec, replications, sweep)
    except ScenarioError as exc:
        raise UsageProblem(str(exc)) from None
    folder = _out_dir(out, spec.name)
    started = time.perf_counter()
    results = _run_with_progress(plan, workers, dask_scheduler, run_plan, DaskMissing)
    summary = aggregate(plan, results)
    summary["meta"] = _meta(sys.argv[1:], time.perf_counter() - started, workers, dask_scheduler,
                            len(plan.tasks))  # fmt: skip
    _write_folder(folder, spec, plan, results, summary)
    _render(summary, folder)
    if summary["verdict"] == "nothing checked":
        raise CheckFailed(
            f"scenario {spec.name} defines no SLOs: nothing was checked, so the run does not "
            f"pass (exit 1); add slos to the scenario; see {folder / 'report.html'}"
        )
    if not summary["passed"]:
        raise CheckFailed(f"{_verdict_text(summary)}; see {folder / 'report.html'}")


def _verdict_text(summary: dict[str, Any]) -> str:
    """One line: what was checked, what held, and the rule the exit status follows."""
    points = summary["points"]
    if summary["verdict"] == "nothing checked":
        return "no SLOs defined: nothing was checked (a run that checks nothing does not pass)"
    if summary["sweep"]:
        met = [_label(p) for p in points if p["passed"]]
        which = f" ({', '.join(met)})" if met else ""
        return (f"{len(met)} of {len(points)} sweep points meet every SLO{which}; "
                f"rule: {summary['rule']}")  # fmt: skip
    failed = [s["name"] for s in points[0]["slos"] if not s["passed"]]
    n = len(points[0]["slos"])
    if failed:
        return f"{len(failed)} of {n} SLOs failed ({', '.join(failed)})"
    return f"all {n} SLOs met"


def _label(point: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in point.get("params", {}).items()) or "-"


def _run_with_progress(plan: Any, workers: int | None, dask: str | None, run_plan: Any,
                       dask_missing: type[Exception]) -> Any:  # fmt: skip
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from golive.render import err_console

    total = len(plan.tasks)
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    quiet = not err_console.is_terminal
    with Progress(*columns, console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"{plan.points[0].name}: replications", total=total)
        try:
            return run_plan(plan, workers, dask,
                            lambda _event: progress.advance(task))  # fmt: skip
        except dask_missing as exc:
            raise UsageProblem(str(exc)) from None
        except OSError as exc:  # an unreachable Dask scheduler
            raise UsageProblem(f"--dask-scheduler {dask}: {exc}") from None


def _write_folder(
    folder: Path, spec: Any, plan: Any, results: Any, summary: dict[str, Any]
) -> None:
    from golive.report import JunitCase, write_junit
    from scenarios.summary import to_json

    (folder / "summary.json").write_text(to_json(summary), encoding="utf-8")
    cases = []
    classname = f"scenario.{spec.name}"
    # A passing sweep fails no testcase: the SLOs of the points it did not choose are
    # reported as skipped, with what failed, so CI and the exit status agree.
    passing_sweep = bool(summary["sweep"]) and summary["passed"]
    for point in summary["points"]:
        label = ",".join(f"{k}={v}" for k, v in point.get("params", {}).items())
        for slo in point["slos"]:
            ci = f"95% CI {slo['ci_low']:.4g}..{slo['ci_high']:.4g}"
            failure = (
                ""
                if slo["passed"]
                else (f"{slo['metric']} = {slo['mean']:.4g} ({ci}) > {slo['threshold']:g}")
            )
            skipped = f"{failure}; this sweep point is not one that meets every SLO" if (
                failure and passing_sweep) else ""  # fmt: skip
            cases.append(JunitCase(f"{slo['name']}{f' [{label}]' if label else ''}", classname,
                                   failure, skipped=skipped))  # fmt: skip
    if summary["sweep"] and cases:
        rule = "" if summary["passed"] else _verdict_text(summary)
        cases.append(JunitCase("sweep: at least one point meets every SLO", classname, rule))
    if not cases:
        cases.append(JunitCase("no SLOs defined", f"scenario.{spec.name}",
                               "the scenario defines no SLOs: nothing was checked"))  # fmt: skip
    write_junit(folder / "junit.xml", f"scenario {spec.name}", cases)
    _build_report(spec, plan, results, summary).write(folder / "report.html")


def _render(summary: dict[str, Any], folder: Path) -> None:
    from rich.text import Text

    from golive.render import console, table

    rows = []
    for point in summary["points"]:
        label = ",".join(f"{k}={v}" for k, v in point.get("params", {}).items()) or "-"
        for slo in point["slos"]:
            rows.append((label, slo["name"], slo["metric"], f"{slo['mean']:.4g}",
                         f"{slo['ci_low']:.4g}..{slo['ci_high']:.4g}", f"<= {slo['threshold']:g}",
                         slo["unit"], Text("pass", style="green") if slo["passed"]
                         else Text("FAIL", style="red")))  # fmt: skip
    table(f"scenario {summary['scenario']}: {summary['replications']} replication(s), "
          f"seed {summary['seed']}",
          ["point", "SLO", "metric", "mean", "95% CI", "target", "unit", "result"], rows,
          keys=3)  # fmt: skip
    if any(s["mean"] == float("inf") for p in summary["points"] for s in p["slos"]):
        console.print("inf: some jobs never completed (or the backlog never drained), which is "
                      "slower than any threshold", markup=False, highlight=False)  # fmt: skip
    verdict = summary["verdict"].upper()
    console.print(f"{verdict}: {_verdict_text(summary)}", markup=False, highlight=False)
    console.print(f"report: {folder / 'report.html'}", markup=False, highlight=False)


def _window_title(result: Any, window: dict[str, Any]) -> str:
    start, end = window["start_s"], window["end_s"]
    kinds = sorted({f"{what.removesuffix('_started')} ({system})"
                    for t, what, system, _d in result.timeline
                    if what.endswith("_started") and start <= t < end})  # fmt: skip
    return f"{', '.join(kinds)}, hours {start / 3600:g} to {end / 3600:g}"


def _build_report(spec: Any, plan: Any, results: Any, summary: dict[str, Any]) -> Any:
    from golive.report import HtmlReport
    from scenarios import plots

    points = summary["points"]
    report = HtmlReport(
        f"Scenario {spec.name}",
        subtitle=f"{spec.description} Mode sim, {plan.replications} replication(s) per point, "
        f"seed {spec.seed}, {spec.duration_hours:g} h of arrivals + {spec.drain_hours:g} h drain.",
    )
    report.verdict(summary["passed"], _verdict_text(summary), summary["verdict"].upper())
    slo_rows = [
        (_label(p), s["name"], s["metric"], s["flow"] or "all (worst flow)", s["mean"],
         f"{s['ci_low']:.4g} .. {s['ci_high']:.4g}", f"<= {s['threshold']:g}", s["unit"],
         "pass" if s["passed"] else "FAIL")
        for p in points for s in p["slos"]
    ]  # fmt: skip
    report.section("SLOs").paragraph(f"Rule: {summary['rule']}.").table(
        ["point", "SLO", "metric", "flow", "mean", "95% CI", "threshold", "unit", "result"],
        slo_rows,
    )
    if plan.sweep_key:
        report.section(f"Sweep of {plan.sweep_key}").paragraph(
            "Each SLO metric against the swept value (mean, 95% CI); green points meet the SLO."
        ).figure(plots.sweep_figure(summary), caption=f"SLO metrics against {plan.sweep_key}")
    first = [r for r in results if r.point == 0]
    where = f" (point {plan.sweep_key}={plan.sweep_values[0]})" if plan.sweep_key else ""
    report.section(f"Backlog over time{where}").figure(
        plots.backlog_figure(first),
        caption="jobs in the estate (held upstream, queued, in service, waiting to retry); "
        "each point a block of samples, its mean and its maximum; shaded: fault windows",
    )
    for i, window in enumerate(first[0].windows):
        report.section(f"Fault window {i + 1}: {_window_title(first[0], window)}{where}").figure(
            plots.fault_zoom_figure(first, i),
            caption="zoomed on the fault: the backlog's rise and its drain, every sample",
        )
    report.section(f"Latency per flow{where}").figure(
        plots.latency_figure(first), caption="percentiles, 95% CI across replications"
    ).paragraph(
        "A job that never completed (dead-lettered, or unfinished when the run ended) is "
        "slower than any SLO: percentiles count it as infinitely slow, so a percentile "
        "reads inf when more jobs never completed than it leaves room for."
    ).table(
        ["flow", "completed", "never completed", "p50 (s)", "p95 (s)", "p99 (s)",
         "mean of completed (s)", "retries", "dead letters", "duplicates reached"],
        [(f, m["completed"]["mean"], m["never_completed"]["mean"], m["latency_p50_s"]["mean"],
          m["latency_p95_s"]["mean"], m["latency_p99_s"]["mean"],
          m["latency_mean_completed_s"]["mean"], m["retries"]["mean"], m["dead_letters"]["mean"],
          m["duplicates_reached"]["mean"]) for f, m in points[0]["flows"].items()],
    )  # fmt: skip
    report.section(f"Throughput{where}").figure(plots.throughput_figure(first))
    report.section(f"SLA breaches{where}").figure(
        plots.sla_figure(first), caption="share of deals over the flow's SLA or never done"
    )
    report.section("Totals").table(
        ["metric", "mean", "95% CI"],
        [(k, v["mean"], f"{v['ci_low']:.4g} .. {v['ci_high']:.4g}")
         for k, v in points[0]["totals"].items()],
    )  # fmt: skip
    report.section("Scenario").preformatted(json.dumps(spec.model_dump(mode="json"), indent=2))
    return report
