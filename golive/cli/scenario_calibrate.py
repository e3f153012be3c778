"""``golive scenario calibrate``: a simulated-mode scenario fitted from a live run.

A command of ``golive scenario``, in a module of its own so the live and simulated
commands grow apart; docs/calibration.md says what is fitted and how.
"""

from __future__ import annotations

from pathlib import Path

import typer

from golive.cli.scenario import scenario_app
from golive.errors import UsageProblem

__all__ = ["calibrate", "register"]

_HELP = """Fit service times, error rates and the middleware's concurrency from a live run's
raw journals (REPORT_DIR/raw/) and write them as a simulated-mode scenario.

Example: golive scenario calibrate --from golive-reports/demo-reference --out calibrated.yaml
--scenario quarter-end-spike, then golive scenario run calibrated.yaml --mode sim"""


def register(_app: typer.Typer) -> None:
    """Nothing to add to the root app: the command is on ``golive scenario``."""


@scenario_app.command("calibrate", help=_HELP)
def calibrate(
    source: Path = typer.Option(..., "--from", help="Report folder of a live run (has raw/)."),
    out: Path = typer.Option(..., "--out", help="The calibrated scenario file to write (YAML)."),
    scenario: str | None = typer.Option(
        None, "--scenario", help="Base scenario (default: the one the live run's report names)."
    ),
) -> None:
    from golive.render import table
    from scenarios.calibration import CalibrationProblem
    from scenarios.calibration import calibrate as fit

    try:
        result = fit(source, scenario)
    except CalibrationProblem as exc:
        raise UsageProblem(str(exc)) from None
    if out.is_dir():
        raise UsageProblem(f"--out {out} is a folder; name the scenario file to write")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.yaml_text(), encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"cannot write {out}: {exc.strerror or exc}") from None
    rows = [
        [flow, str(int(s["n"])), f"{s['mean_s'] * 1000:.1f}", f"{s['p95_s'] * 1000:.1f}",
         "yes" if flow in result.calibrated_flows else "no (base scenario's)"]
        for flow, s in result.observed.items()
    ]  # fmt: skip
    table("Live latency per flow", ["flow", "live runs", "mean ms", "p95 ms", "steps fitted"],
          rows)  # fmt: skip
    c = result.concurrency
    typer.echo(f"middleware concurrency: max {c.maximum}, {c.sustained} reached by two "
               f"requests or more (workers: {result.spec.middleware.workers}), mean while "
               f"busy {c.busy_mean:.2f}")  # fmt: skip
    if "invoice_to_ar_invoice" in result.calibrated_flows:
        pickup = result.spec.events.invoice_run_pickup_ms
        typer.echo(f"invoice run pickup: {pickup:g} ms (every invoice of a batch waits it; "
                   "docs/calibration.md)")  # fmt: skip
    typer.echo(f"wrote {out}: golive scenario run {out} --mode sim")
