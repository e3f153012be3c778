"""``golive contracts export|diff|fuzz|verify``: OpenAPI governance, fuzzing, Pact verification.

Thin: ``contracts.specs``, ``contracts.diff`` and ``contracts.fuzz`` do the work;
Schemathesis loads only inside ``fuzz``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from golive.errors import CheckFailed, UsageProblem
from lifecycle.systems import SYSTEMS

__all__ = ["register"]

contracts_app = typer.Typer(
    help="OpenAPI governance, conformance fuzzing and Pact verification of the five systems."
    "\n\n"
    "Example: golive contracts diff crm crm   (the reviewed copy against the code)",
    no_args_is_help=True,
)


def _systems(only: str | None) -> tuple[str, ...]:
    if not only:
        return SYSTEMS
    chosen = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown or not chosen:
        raise UsageProblem(f"--only: unknown system(s) {unknown}; choose from {', '.join(SYSTEMS)}")
    return tuple(s for s in SYSTEMS if s in chosen)


@contracts_app.command("export")
def export(
    only: str | None = typer.Option(None, "--only", help="Comma-separated systems (default: all)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if a copy drifted."),
) -> None:
    """Rewrite the reviewed specs under contracts/openapi/ from the code.

    Same as `python -m contracts.specs`. Review the git diff (or run
    `golive contracts diff NAME NAME` first) before committing.

    Example: golive contracts export --check
    """
    from contracts.specs import SPEC_DIR, drifted, write_specs
    from golive.render import console

    systems = _systems(only)
    if check:
        stale = [s for s in systems if drifted(s)]
        if stale:
            raise CheckFailed(
                f"{', '.join(stale)}: contracts/openapi/ differs from the code; "
                "run `golive contracts export` after review"
            )
        console.print(f"{len(systems)} spec(s) in {SPEC_DIR} match the code")
        return
    for path in write_specs(systems):
        console.print(f"wrote {path}")


def _side(arg: str, new: bool) -> tuple[dict[str, Any], str]:
    from contracts.diff import SpecError, check_spec, load_spec

    path = Path(arg)
    if arg in SYSTEMS and not path.exists():
        if new:
            from contracts.specs import generated_spec

            return generated_spec(arg), f"{arg} (code)"
        from contracts.specs import committed_spec

        text = committed_spec(arg)
        if text is None:
            raise UsageProblem(f"{arg}: no committed contracts/openapi/{arg}.json")
        return check_spec(json.loads(text), arg), f"{arg} (committed)"
    if not path.exists():
        raise UsageProblem(f"{arg}: no such file (nor a system: {', '.join(SYSTEMS)})")
    try:
        return load_spec(path), arg
    except SpecError as exc:
        raise UsageProblem(str(exc)) from None


@contracts_app.command("diff")
def diff(
    old: str = typer.Argument(..., help="Old spec: a file, or a system name (its committed copy)."),
    new: str | None = typer.Argument(
        None, help="New spec: a file, or a system name (the code's spec). Default: OLD's code."
    ),
    fmt: str = typer.Option("table", "--format", help="table or json (json on stdout)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON report here."),
) -> None:
    """Report breaking and non-breaking changes from OLD to NEW; exit 1 if any breaks clients.

    A system name on the left means its reviewed copy (contracts/openapi/NAME.json),
    on the right the spec the code produces now. Files may be JSON or YAML.

    Example: golive contracts diff base/crm.json contracts/openapi/crm.json --json diff.json
    """
    from contracts.diff import SpecError, diff_specs

    if fmt not in ("table", "json"):
        raise UsageProblem(f"--format must be table or json, not {fmt!r}")
    if new is None:
        if old not in SYSTEMS:
            raise UsageProblem("NEW is needed unless OLD is a system name")
        new = old
    old_doc, old_name = _side(old, new=False)
    new_doc, new_name = _side(new, new=True)
    try:
        report = diff_specs(old_doc, new_doc, old_name, new_name)
    except SpecError as exc:
        raise UsageProblem(str(exc)) from None
    data = report.to_json()
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageProblem(f"--json {json_out}: cannot write: {exc.strerror or exc}") from None
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
    else:
        _render_diff(report)
    if report.breaking:
        raise CheckFailed(
            f"{len(report.breaking)} breaking change(s) from {old_name} to {new_name}"
        )


def _render_diff(report: Any) -> None:
    from rich.text import Text

    from golive.render import console, table

    rows = [
        (
            Text("BREAKING", style="bold red") if c.breaking else Text("ok", style="green"),
            c.operation,
            c.where,
            c.message,
            c.rule,
        )
        for c in sorted(report.changes, key=lambda c: (not c.breaking, c.operation, c.where))
    ]
    if rows:
        table(
            f"{report.old} -> {report.new}",
            ("", "operation", "where", "change", "rule"),
            rows,
            keys=2,
        )
    console.print(
        f"{len(report.breaking)} breaking, {len(report.non_breaking)} non-breaking change(s)"
    )


def register(app: typer.Typer) -> None:
    from golive.cli import contracts_fuzz, contracts_verify

    contracts_fuzz.register(contracts_app)
    contracts_verify.register(contracts_app)
    app.add_typer(contracts_app, name="contracts")
