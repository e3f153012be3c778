"""``golive contracts fuzz``: Schemathesis against one system, with progress and a verdict.

Where it points: ``--base-url``, else the system's URL in ``--target`` (golive.toml;
``local`` is the simulators on 127.0.0.1:8101..8105). When nothing answers at a
simulated target's URL, it starts that one simulator in this process on a free
loopback port for the run (``--no-start`` refuses instead); a URL given with
``--base-url`` or a staging target is never stood in for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from golive.errors import CheckFailed, UsageProblem
from lifecycle.systems import SYSTEMS

__all__ = ["register"]


def _answers(url: str) -> bool:
    import httpx

    try:
        httpx.get(f"{url}/openapi.json", timeout=3)
    except httpx.HTTPError:
        return False
    return True


def _start_simulator(system: str) -> Any:
    """The one simulator in its own process (as `golive up` runs it) on a free loopback port."""
    import socket

    from simulators.estate import EstateError, start_estate

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    try:
        return start_estate([system], mode="processes", base_port=port - SYSTEMS.index(system))
    except EstateError as exc:
        raise UsageProblem(f"cannot start {system}: {exc}") from None


def _spec(system: str, spec_file: Path | None) -> dict[str, Any]:
    from contracts.diff import SpecError, check_spec, load_spec
    from contracts.specs import committed_spec

    if spec_file is not None:
        try:
            return load_spec(spec_file)
        except SpecError as exc:
            raise UsageProblem(str(exc)) from None
    text = committed_spec(system)
    if text is None:
        raise UsageProblem(f"no committed contracts/openapi/{system}.json")
    return check_spec(json.loads(text), system)


def fuzz(
    system: str = typer.Option(..., "--system", help=f"One of {', '.join(SYSTEMS)}."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Where the system answers (default: its URL in --target)."
    ),
    target: str = typer.Option("local", "--target", help="A target of golive.toml."),
    max_examples: int = typer.Option(
        25, "--max-examples", min=1, max=10_000, help="Generated cases per operation and phase."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Same seed, same cases (default: random, shown)."
    ),
    phases: str = typer.Option(
        "examples,coverage,fuzzing",
        "--phases",
        help="Comma-separated: examples, coverage, fuzzing.",
    ),
    stateful: bool = typer.Option(
        True, "--stateful/--no-stateful", help="Also run sequences through the spec's links."
    ),
    junit: Path | None = typer.Option(None, "--junit", help="Write JUnit XML here."),
    spec_file: Path | None = typer.Option(
        None, "--spec", help="OpenAPI file to test against (default: the committed copy)."
    ),
    max_time: int | None = typer.Option(
        None,
        "--max-time",
        min=1,
        help="Keep fuzzing for up to S seconds (time-boxed, not example-bound).",
    ),
    control_plane: bool = typer.Option(
        False, "--control-plane", help="Also fuzz /_sim/ (simulators only: it resets state)."
    ),
    start: bool = typer.Option(
        True, "--start/--no-start", help="Start a simulator when nothing answers at a local target."
    ),
    config: Path | None = typer.Option(None, "--config", help="golive.toml to read."),
) -> None:
    """Fuzz a system against its reviewed OpenAPI spec; exit 1 on any failure.

    Checks: no 5xx; every status, header, content type and body as documented; what
    was created can be read. The OAuth token (GOLIVE_CLIENT_ID / GOLIVE_CLIENT_SECRET,
    default golive / golive-secret) is fetched again before it expires.

    Example: golive contracts fuzz --system crm --max-examples 50 --seed 7 --junit fuzz.xml
    """
    from golive.config import load_config

    chosen = tuple(p.strip() for p in phases.split(",") if p.strip())
    if not chosen or set(chosen) - {"examples", "coverage", "fuzzing"}:
        raise UsageProblem(f"--phases: choose from examples, coverage, fuzzing, not {phases!r}")
    if system not in SYSTEMS:
        raise UsageProblem(f"--system: unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
    spec = _spec(system, spec_file)
    cfg = load_config(config)
    client_id, client_secret = cfg.credentials(target)
    started = None
    if base_url is None:
        base_url = cfg.target(target)[system]
        if not _answers(base_url):
            if not (start and cfg.target_spec(target).simulated):
                raise UsageProblem(f"nothing answers at {base_url} ({system}, target {target!r})")
            started = _start_simulator(system)
            from golive.render import err_console

            err_console.print(f"nothing at {base_url}; started {system} at {started.url(system)}")
            base_url = started.url(system)
    elif not _answers(base_url.rstrip("/")):
        raise UsageProblem(f"--base-url {base_url}: nothing answers")
    from contracts.fuzz import FuzzOptions

    options = FuzzOptions(
        system=system,
        base_url=base_url.rstrip("/"),
        spec=spec,
        client_id=client_id,
        client_secret=client_secret,
        max_examples=max_examples,
        seed=seed,
        stateful=stateful,
        phases=chosen,
        max_time_s=max_time,
        control_plane=control_plane,
    )
    try:
        _run(options, junit)
    finally:
        if started is not None:
            started.stop()


def _run(options: Any, junit: Path | None) -> None:
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    from contracts.fuzz import TokenError, run_fuzz
    from golive.render import console, table

    system = options.system
    with Progress(
        SpinnerColumn(),
        *Progress.get_default_columns()[:1],
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{system}: starting", total=None)
        counts = {"scenarios": 0, "failed": 0}

        from schemathesis.engine import Status, events

        def on_event(event: Any) -> None:
            if isinstance(event, events.PhaseStarted):
                bar.update(task, description=f"{system}: {event.phase.name.value}")
            elif isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
                counts["scenarios"] += 1
                counts["failed"] += event.status == Status.FAILURE
                bar.update(
                    task,
                    description=f"{system}: {event.phase.value}, "
                    f"{counts['scenarios']} scenarios, {counts['failed']} failed",
                )

        try:
            result = run_fuzz(options, on_event)
        except TokenError as exc:
            raise UsageProblem(f"token: {exc}") from None
    if result.failures:
        table(
            f"{system}: failures",
            ("operation", "phase", "problem", "reproduce"),
            [
                (f.operation, f.phase, f"{f.title}: {f.message}", f.reproduce or "")
                for f in result.failures
            ],
            keys=2,
        )
    for error in result.errors:
        console.print(f"error: {error}", markup=False, highlight=False)
    if junit is not None:
        _write_junit(junit, result)
    if not result.passed:
        raise CheckFailed(result.verdict())
    console.print(result.verdict(), markup=False, highlight=False)


def _write_junit(path: Path, result: Any) -> None:
    from golive.report import JunitCase, write_junit

    failures: dict[str, list[str]] = {}
    for f in result.failures:
        text = f"{f.title}: {f.message}" + (f"\nReproduce: {f.reproduce}" if f.reproduce else "")
        failures.setdefault(f"{f.phase} {f.operation}", []).append(text)
    cases = [
        JunitCase(
            name=key.partition(" ")[2],
            classname=f"fuzz.{result.system}.{key.partition(' ')[0]}",
            failure="\n\n".join(failures.get(key, [])),
            skipped="not run" if result.tested.get(key) == "skip" and key not in failures else "",
        )
        # A stateful failure names its operation, not the phase's one scenario label.
        for key in sorted(set(result.tested) | set(failures))
    ]
    cases += [
        JunitCase(name="engine error", classname=f"fuzz.{result.system}", failure=e)
        for e in result.errors
    ]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_junit(path, f"golive contracts fuzz {result.system}", cases)
    except OSError as exc:
        raise UsageProblem(f"--junit {path}: cannot write: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    app.command("fuzz")(fuzz)
