"""``golive reconcile``: the verdict on a running estate (README, "Reconciliation")."""

from __future__ import annotations

from pathlib import Path

import typer

from golive.errors import CheckFailed, UsageProblem

__all__ = ["register"]


def reconcile(
    target: str = typer.Option("local", "--target", help="A target of golive.toml."),
    base_port: int | None = typer.Option(
        None,
        "--base-port",
        min=1,
        max=65531,
        help="Port of the first simulator (as given to `golive up --base-port`).",
    ),
    json_file: Path | None = typer.Option(None, "--json", help="Write the verdict as JSON."),
    junit_file: Path | None = typer.Option(
        None, "--junit", help="Write JUnit XML: one testcase per invariant."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for reconcile.json, reconcile.xml and report.html."
    ),
) -> None:
    """Check the cross-system invariants of a running estate; exit 1 on any violation.

    Reads every object (paged /_sim/export) and event of the five systems.

    Checks that each closed-won deal became one order, subscription and active
    entitlement at the quote's prices, that invoices, payments and the ledger
    reconcile, and the latency SLOs of golive.toml (the slos table).

    Exit 0: clean; 1: violations; 2: bad input or nothing running.

    Example: golive up --base-port 9500 &  golive reconcile --base-port 9500 --out verdict/
    """
    from rich.text import Text

    from golive.config import load_config
    from golive.dataload import control_headers
    from golive.reconcile import (
        examples,
        reconcile_target,
        slos_from_config,
        write_html,
        write_json,
        write_junit_report,
    )
    from golive.render import console, table

    cfg = load_config()
    slos = slos_from_config(cfg.slos)
    targets = cfg.target(target, base_port)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageProblem(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    verdict = reconcile_target(targets, slos, client_id=cfg.client_id,
                               client_secret=cfg.client_secret,
                               admin_headers=control_headers())  # fmt: skip
    rows = []
    for r in verdict.results:
        n = len(r.violations)
        mark = Text(str(n), style="bold red" if n else "green")
        rows.append([r.name, r.checked, r.pending, mark, examples(verdict, r.name)])
    table(f"Reconciliation of {target}",
          ["invariant", "checked", "pending", "violations", "first examples"], rows)  # fmt: skip
    written = []
    try:
        if json_file is not None:
            written.append(write_json(verdict, json_file))
        if junit_file is not None:
            written.append(write_junit_report(verdict, junit_file))
        if out is not None:
            written += [write_json(verdict, out / "reconcile.json"),
                        write_junit_report(verdict, out / "reconcile.xml"),
                        write_html(verdict, out / "report.html")]  # fmt: skip
    except OSError as exc:
        raise UsageProblem(f"cannot write the report: {exc}") from None
    for path in written:
        console.print(f"wrote {path}", markup=False, highlight=False)
    if not verdict.ok:
        names = sorted({v.invariant for v in verdict.violations})
        n = len(verdict.violations)
        raise CheckFailed(f"{n} violation{'s' if n != 1 else ''}: {', '.join(names)}")
    console.print("every invariant holds", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)
