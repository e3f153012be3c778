"""``golive scenario run NAME --mode live``: options to library calls, Rich progress, and the
verdict printed (the runner is ``golive.live``; docs/live-scenarios.md)."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from golive.errors import CheckFailed, UsageProblem

__all__ = ["LiveArgs", "run_live_command"]


@dataclass
class LiveArgs:
    name: str
    assignments: list[str]
    out: Path | None
    speed: float
    scale: float
    max_deals: int
    sut: str | None
    config: Path | None
    target: str | None
    base_port: int | None
    compare: bool
    invoice_run: bool = True
    settle_s: float = 2.0
    through_renewal: bool = False


def _sut_choice(given: str | None, cfg: Any) -> str:
    from examples.run import KINDS

    if given is None:
        return "config" if cfg.sut_url else "reference"
    if given in KINDS:
        return given
    if not given.startswith(("http://", "https://")):
        raise UsageProblem(f"--sut must be reference, naive or an http(s) URL, not {given!r}")
    if cfg.sut_url and given.rstrip("/") == cfg.sut_url.rstrip("/"):
        return "config"  # the URL golive.toml names: its command starts it
    return given


def _given(name: str, assignments: list[str]) -> list[str]:
    """The fields the scenario file and ``--set`` write (for the "not applied" report)."""
    import tomllib

    import yaml

    from golive.live.plan import given_keys
    from scenarios.catalog import resolve

    path = resolve(name)
    text = path.read_text(encoding="utf-8")
    raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    return given_keys(raw if isinstance(raw, dict) else {}) + [
        a.split("=", 1)[0].strip() for a in assignments
    ]


_SUT_LOGGERS = ("reference_middleware", "naive_middleware")


def _sut_log(folder: Path) -> logging.Handler:
    """The bundled middlewares log their retries: into the report folder, not the terminal."""
    handler = logging.FileHandler(folder / "sut.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in _SUT_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    return handler


def _sut_log_done(handler: logging.Handler) -> None:
    for name in _SUT_LOGGERS:
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.propagate = True
    handler.close()


def run_live_command(args: LiveArgs) -> None:
    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    from golive.cli.scenario import _load, _out_dir
    from golive.config import load_config
    from golive.dataload import control_headers
    from golive.live.compare import side_by_side, simulate_small
    from golive.live.measure import measure
    from golive.live.plan import LivePlan, make_plan
    from golive.live.report import oracle_slos, write_report
    from golive.live.runner import LiveOptions, run_live, units
    from golive.live.sut import check_reachable
    from golive.reconcile import slos_from_config
    from golive.render import console, err_console

    spec = _load(args.name, args.assignments)
    given = _given(args.name, args.assignments)
    cfg = load_config(args.config)
    choice = _sut_choice(args.sut, cfg)
    attach = args.target is not None or args.base_port is not None
    targets = cfg.target(args.target or "local", args.base_port) if attach else None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = _out_dir(args.out or Path("golive-reports") / f"live-{spec.name}-{stamp}", spec.name)
    options = LiveOptions(
        sut=choice,
        given=given,
        invoice_run=args.invoice_run,
        through_renewal=args.through_renewal,
        settle_limit_s=args.settle_s,
        react_s=args.settle_s,
        speed=args.speed,
        scale=args.scale,
        max_deals=args.max_deals,
        targets=targets,
        admin_headers=control_headers() if attach else {},
        credentials=cfg.credentials(args.target or "local"),
        sut_url=cfg.sut_url,
        sut_command=cfg.sut_command,
        slos=oracle_slos(spec, slos_from_config(cfg.slos)),
        raw_dir=folder,
    )
    try:  # bad volume or speed, or no SUT at the URL: one line before anything starts
        make_plan(spec, speed=args.speed, scale=args.scale, max_deals=args.max_deals, given=given)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if choice not in ("reference", "naive", "config"):
        check_reachable(choice)
    handler = _sut_log(folder)
    started = time.perf_counter()
    columns = ("[progress.description]{task.description}", BarColumn(), TimeElapsedColumn())
    with Progress(
        *columns, console=err_console, transient=True, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task(f"{spec.name} live: starting the estate", total=None)

        def ready(plan: LivePlan) -> None:
            progress.update(task, total=units(plan))

        def tick(what: str, n: float) -> None:
            progress.update(task, advance=n, description=f"{spec.name} live: {what}")

        try:
            run = run_live(spec, options, tick, ready)
        finally:
            _sut_log_done(handler)
        live = measure(run)
        side: list[dict[str, Any]] = []
        if args.compare:
            progress.update(task, description=f"{spec.name}: the model, side by side")
            side = side_by_side(live, simulate_small(run.plan))
    meta = {
        "command": " ".join(["golive", *sys.argv[1:]]),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rawdump": run.raw,
    }
    summary = write_report(folder, run, live, side, meta)
    _render(summary, folder, run)
    if not summary["passed"]:
        names = sorted({v.invariant for v in run.verdict.violations})
        failed = [s["name"] for s in summary["points"][0]["slos"] if s["passed"] is False]
        parts = (
            [f"{len(run.verdict.violations)} oracle violation(s): {', '.join(names)}"]
            if names
            else []
        ) + ([f"SLO(s) failed: {', '.join(failed)}"] if failed else [])
        raise CheckFailed(f"{'; '.join(parts)}; see {folder / 'report.html'}")
    console.print(
        f"PASS: every invariant holds and every live SLO is met; see {folder / 'report.html'}",
        markup=False,
        highlight=False,
    )


def _render(summary: dict[str, Any], folder: Path, run: Any) -> None:
    from rich.text import Text

    from golive.reconcile import examples
    from golive.render import console, table

    live = summary["live"]
    console.print(
        f"live run of {summary['scenario']} against the {live['sut']['kind']} middleware: "
        f"{live['deals']} of {live['drawn_deals']} deals (scale {live['scale']:g}, max "
        f"{live['max_deals']}), speed {live['speed']:g}x, estate from {live['estate_start']}, "
        f"{live['wall_s']:g} s",
        markup=False,
        highlight=False,
    )
    rows = []
    for r in run.verdict.results:
        n = len(r.violations)
        rows.append(
            [
                r.name,
                r.checked,
                Text(str(n), style="bold red" if n else "green"),
                examples(run.verdict, r.name),
            ]
        )
    table("oracle", ["invariant", "checked", "violations", "first examples"], rows)
    slo_rows = [
        (
            s["name"],
            s["metric"],
            "-" if s["mean"] is None else f"{s['mean']:.4g}",
            f"<= {s['threshold']:g}",
            Text("not applied", style="yellow")
            if not s["applied"]
            else Text("pass", style="green")
            if s["passed"]
            else Text("FAIL", style="red"),
        )
        for s in summary["points"][0]["slos"]
    ]
    table("SLOs (live)", ["SLO", "metric", "live value", "target", "result"], slo_rows)
    skipped = [n["field"] for n in summary["not_applied"] if n["set_by_file"] == "true"]
    console.print(
        f"not applied in live mode: {', '.join(skipped) or 'nothing the file sets'} "
        f"(all {len(summary['not_applied'])} listed in summary.json and the report)",
        markup=False,
        highlight=False,
    )
    console.print(f"report: {folder / 'report.html'}", markup=False, highlight=False)
