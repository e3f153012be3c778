"""``golive clock show|freeze|resume|advance``: one clock for the whole estate.

Parses options and renders; the moving is ``golive.estateclock`` (imported inside the
commands, with httpx, so ``golive --help`` stays instant).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import typer

from golive.errors import CheckFailed, UsageProblem

__all__ = ["parse_span", "register"]

clock_app = typer.Typer(
    help="One clock for the whole estate: show it, freeze it, advance it in settled steps.\n\n"
    "Example: golive clock advance --by 30d --step 1h",
    no_args_is_help=True,
)

_UNITS_S = {"w": 604_800.0, "d": 86_400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")
_TARGET_HELP = "A target of golive.toml (local: the simulators of `golive up`)."
_CONFIG_HELP = "The golive.toml to read (default: ./golive.toml when there is one)."


def register(app: typer.Typer) -> None:
    app.add_typer(clock_app, name="clock")


def parse_span(text: str, option: str) -> float:
    """``30d``, ``1d12h``, ``90m``, ``100ms``, ``2w`` or plain seconds → seconds (> 0).

    Anything else is a one-line ``UsageProblem`` naming the option.
    """
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = _PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise UsageProblem(
                f"{option} {text!r}: use a number and a unit (w d h m s ms), e.g. 30d, 1h30m, 100ms"
            )
        seconds = sum(float(n) * _UNITS_S[u] for n, u in parts)
    if not seconds > 0:
        raise UsageProblem(f"{option} {text!r}: must be more than 0")
    return seconds


def _clock(target: str, config: Path | None, moves: bool = True) -> Any:
    from golive.config import load_config
    from golive.estateclock import EstateClock
    from simulators.kit.auth import ADMIN_TOKEN_ENV

    if config is not None and not config.is_file():
        raise UsageProblem(f"--config {config}: no such file")
    cfg = load_config(config)
    urls = cfg.target(target)
    if moves and not cfg.target_owned(target):
        raise UsageProblem(
            f"target {target!r} is not owned (owned = false, or not on loopback): golive "
            "never moves its clock; set owned = true in golive.toml if it is yours"
        )
    token = os.environ.get(ADMIN_TOKEN_ENV)
    return EstateClock(urls, {"X-Sim-Admin-Token": token} if token else {})


def _calling(action: Any) -> Any:
    """Run one control-plane action; its errors become one line (refused: 2, unreachable: 1)."""
    try:
        return action()
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    except ConnectionError as exc:
        raise CheckFailed(f"cannot reach {exc} (are the simulators up? golive up)") from None


@clock_app.command("show")
def show(
    target: str = typer.Option("local", "--target", help=_TARGET_HELP),
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Each system's clock, the next job due and the activity a settle waits on.

    Example: golive clock show --target local
    """
    from golive.render import table

    with _clock(target, config, moves=False) as clock:
        views = _calling(clock.show)
    rows = [
        (system, v["now"], "frozen" if v["frozen"] else "running", v["next_due_at"] or "-",
         v["next_job"] or "-", v["activity"]["in_flight"], f"{v['activity']['idle_s']:.1f}",
         ", ".join(h["job"] for h in v.get("held_jobs", ())) or "-")
        for system, v in views.items()
    ]  # fmt: skip
    table(
        f"Clock of {target}",
        ["system", "now", "state", "next due", "next job", "in flight", "idle s", "held jobs"],
        rows,
    )


@clock_app.command("freeze")
def freeze(
    at: str | None = typer.Option(None, "--at", help="The instant (ISO 8601; default: now)."),
    target: str = typer.Option("local", "--target", help=_TARGET_HELP),
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Stop every clock at one instant (a later one runs the jobs due on the way).

    Example: golive clock freeze --at 2027-01-01T00:00:00Z
    """
    from golive.estateclock import parse_utc
    from golive.render import console

    moment = None
    if at is not None:
        try:
            moment = parse_utc(at)
        except ValueError as exc:
            raise UsageProblem(f"--at: {exc}") from None
    with _clock(target, config) as clock:
        _calling(lambda: clock.freeze(moment))
        now = next(iter(_calling(clock.show).values()))["now"]
    console.print(f"froze {target} at {now}")


@clock_app.command("resume")
def resume(
    target: str = typer.Option("local", "--target", help=_TARGET_HELP),
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Let every clock run again from where it stands.

    Example: golive clock resume
    """
    from golive.render import console

    with _clock(target, config) as clock:
        _calling(clock.resume)
    console.print(f"{target}: clocks running")


@clock_app.command("advance")
def advance(
    by: str | None = typer.Option(None, "--by", help="How far: 30d, 12h, 1w, 90m, 1d12h."),
    to: str | None = typer.Option(None, "--to", help="Or to an instant: 2027-01-01T00:00:00Z."),
    step: str = typer.Option("1h", "--step", help="Simulated time per step."),
    quiet: str = typer.Option(
        "100ms", "--quiet", help="A step settles once no request came for this long."
    ),
    settle_limit: str = typer.Option(
        "30s", "--settle-limit", help="A step that has not settled by then is reported (exit 1)."
    ),
    no_jump: bool = typer.Option(
        False, "--no-jump", help="Take every step, even where nothing is due and all is quiet."
    ),
    target: str = typer.Option("local", "--target", help=_TARGET_HELP),
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Move all five systems forward together, a step at a time, letting each step settle.

    The estate is frozen at one instant first (and runs again afterwards if it was
    running); after each step every system's jobs have run, webhooks due are delivered
    and no request came for the quiet period. A quiet step with nothing due jumps to the
    next due instant. Exit 1 when a step does not settle or a job fails.

    Example: golive clock advance --by 30d --step 1h --quiet 100ms
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from golive.estateclock import format_utc, parse_utc
    from golive.render import console, err_console, table

    if (by is None) == (to is None):
        raise UsageProblem("give exactly one of --by 30d or --to 2027-01-01T00:00:00Z")
    seconds = parse_span(by, "--by") if by is not None else 0.0
    moment = None
    if to is not None:
        try:
            moment = parse_utc(to)
        except ValueError as exc:
            raise UsageProblem(f"--to: {exc}") from None
    options = {
        "step_s": parse_span(step, "--step"),
        "quiet_s": parse_span(quiet, "--quiet"),
        "settle_limit_s": parse_span(settle_limit, "--settle-limit"),
        "jump": not no_jump,
    }
    with _clock(target, config) as clock, Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task("advancing", total=1.0)

        def progress(now: float, start: float, end: float) -> None:
            done = 1.0 if end <= start else (now - start) / (end - start)
            bar.update(task, completed=done, description=f"at {format_utc(now)[:19]}Z")

        result = _calling(
            lambda: clock.advance(seconds=seconds, to=moment, progress=progress, **options)
        )
    rows = sorted(
        (system, job, runs) for system, jobs in result.runs.items() for job, runs in jobs.items()
    )
    if rows:
        table("Jobs run", ["system", "job", "runs"], rows, keys=2)
    console.print(
        f"{target}: {result.start} -> {result.reached or result.start} in {result.steps} "
        f"step(s) ({result.jumps} jump(s)), {result.seconds:.2f} s"
    )
    if result.flagged:
        err_console.print(f"golive: warning: {result.flagged} object(s) flagged by jobs")
    for failure in result.failures:
        err_console.print(
            f"golive: job {failure['system']}/{failure['job']} failed at {failure['at']}: "
            f"{failure['code']}: {failure['detail']}", markup=False, soft_wrap=True,
        )  # fmt: skip
    if not result.ok:
        raise CheckFailed(str(result.unsettled))
    if result.failures:
        raise CheckFailed(f"{len(result.failures)} job run(s) failed (above)")
