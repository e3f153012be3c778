"""``golive demo``: a business day and a month end through a middleware, with a report.

Parses options and renders; the run is ``golive.demo`` (imported inside the command so
``golive --help`` stays instant). README, "golive demo".
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from golive.errors import CheckFailed, UsageProblem

__all__ = ["register"]


def demo(
    sut: str = typer.Option(
        "reference", "--sut", help="The middleware under test: reference or naive."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of every random choice of the run."),
    deals: int = typer.Option(20, "--deals", min=1, max=200, help="Deals closed in the day."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for report.html, summary.json and junit.xml "
        "(default: a new folder under golive-reports/).",
    ),
) -> None:
    """Start the estate and a middleware, close a business day of deals through CRM and
    CPQ under an ERP outage and duplicate webhooks, run the clock through a month end,
    reconcile and write one HTML report.

    Exit 0: the estate reconciles; 1: the oracle found violations; 2: bad input.

    Example: golive demo --sut naive --deals 10 --out demo-naive/
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.text import Text

    from golive.demo import DemoOptions, run_demo, units
    from golive.reconcile import examples
    from golive.render import console, table

    if sut not in ("reference", "naive"):
        raise UsageProblem(f"--sut {sut!r}: one of reference, naive")
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageProblem(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    for name in ("reference_middleware", "naive_middleware"):  # the report tells their story
        logging.getLogger(name).setLevel(logging.CRITICAL)
    options = DemoOptions(sut=sut, seed=seed, deals=deals, out=out)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
        transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting the estate", total=units(options))

        def tick(what: str, done: float) -> None:
            bar.update(task, description=what, advance=done)

        result = run_demo(options, tick)
    rows = []
    for r in result.verdict.results:
        n = len(r.violations)
        mark = Text(str(n), style="bold red" if n else "green")
        rows.append([r.name, r.checked, mark, examples(result.verdict, r.name)])
    table(f"golive demo: the {sut} middleware, {len(result.deals)} deals",
          ["invariant", "checked", "violations", "first examples"], rows)  # fmt: skip
    console.print(f"report: {result.out / 'report.html'} ({result.facts['seconds']} s)",
                  markup=False, highlight=False)  # fmt: skip
    if not result.ok:
        names = sorted({v.invariant for v in result.verdict.violations})
        n = len(result.verdict.violations)
        raise CheckFailed(f"FAIL: {n} violation{'s' if n != 1 else ''}: {', '.join(names)}")
    console.print("PASS: every invariant holds", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
