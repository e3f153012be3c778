"""``golive up``: run the simulators, one process each, until Ctrl-C or SIGTERM.

Like ``docker compose up --abort-on-container-exit``: when one simulator exits or
stops answering its health check, ``golive up`` names it and its log file, stops
the others and exits 1.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import typer

from golive.config import DEFAULT_BASE_PORT
from golive.errors import GoliveError, UsageProblem
from lifecycle.limits import LimitSettings
from lifecycle.systems import SYSTEMS
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = ["register", "up"]


def parse_only(only: str | None) -> list[str]:
    if not only:
        return list(SYSTEMS)
    chosen = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown or not chosen:
        raise UsageProblem(f"--only: unknown system(s) {unknown}; choose from {', '.join(SYSTEMS)}")
    return [s for s in SYSTEMS if s in chosen]


class _Stop(Exception):
    pass


class EstateFailed(GoliveError):
    """A simulator of a running estate exited or stopped answering."""

    exit_code = 1


_CHECK_EVERY_S = 1.0


def up(
    only: str | None = typer.Option(
        None, "--only", help="Comma-separated systems to run, e.g. crm,erp (default: all five)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback default)."),
    base_port: int = typer.Option(
        DEFAULT_BASE_PORT,
        "--base-port",
        min=1,
        max=65530,
        help="crm listens here, cpq +1, billing +2, support +3, erp +4.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulators' id generators."),
    log_dir: Path | None = typer.Option(
        None,
        "--log-dir",
        help="Folder for one <system>.log per simulator (default: a new temporary folder).",
    ),
    limits: str | None = typer.Option(
        None,
        "--limits",
        help="Throttle as the vendors do: vendor, or off (default: [limits] of the config, "
        "else off).",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="golive.toml to read [limits] from (default: ./golive.toml)."
    ),
) -> None:
    """Run the simulated estate until Ctrl-C.

    When a simulator exits or stops answering /_sim/health, golive up names it and
    its log file, stops the others and exits 1.

    Example: golive up --only crm,erp --base-port 9101 --limits vendor
    """
    from golive.config import limits_table, load_config
    from golive.render import console, table
    from simulators.estate import EstateError, start_estate

    systems = parse_only(only)
    if limits not in (None, "vendor", "off"):
        raise UsageProblem(f"--limits must be vendor or off, not {limits!r}")
    cfg = load_config(config)
    # --limits picks the profile; the file's [limits.<system>] fields still apply over it.
    throttled = limits_table(cfg.raw_limits, str(cfg.source or "golive.toml"), limits)
    if not host.strip():
        raise UsageProblem("--host must not be empty; e.g. 127.0.0.1 (loopback) or 0.0.0.0")

    def _on_term(signum: int, frame: FrameType | None) -> None:
        raise _Stop()

    previous = signal.signal(signal.SIGTERM, _on_term)
    started = time.monotonic()
    estate = None
    try:
        with console.status(f"starting {', '.join(systems)} ..."):
            estate = start_estate(
                systems, host=host, base_port=base_port, mode="processes", seed=seed,
                log_dir=log_dir, limits=throttled,
            )  # fmt: skip
        elapsed = time.monotonic() - started
        table(
            f"golive simulators: {len(systems)} healthy in {elapsed:.1f} s",
            ["system", "base URL", "OpenAPI"],
            [(s, estate.urls[s], f"{estate.urls[s]}/openapi.json") for s in systems],
        )
        console.print(
            f"client credentials: client_id=[bold]{DEFAULT_CLIENT_ID}[/] "
            f"client_secret=[bold]{DEFAULT_CLIENT_SECRET}[/] (POST <url>/oauth/token)"
        )
        if estate.admin_token:
            console.print(
                f"control plane admin token (X-Sim-Admin-Token): [bold]{estate.admin_token}[/]"
            )
        console.print(f"logs: {estate.log_dir}")
        if throttled:
            console.print(
                "throttled: "
                + "; ".join(f"{s} {_describe(throttled[s])}" for s in systems if s in throttled)
            )
        console.print("Press Ctrl-C to stop.")
        while True:
            time.sleep(_CHECK_EVERY_S)
            try:
                estate.check()
            except EstateError as exc:
                raise EstateFailed(f"{exc}; stopping the others") from None
    except EstateError as exc:
        raise UsageProblem(str(exc)) from None
    except (_Stop, KeyboardInterrupt):
        console.print("stopping ...")
    finally:
        # A second Ctrl-C or SIGTERM must not interrupt the clean stop of the children.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        if estate is not None:
            estate.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    console.print("all simulators stopped")


def _describe(settings: LimitSettings) -> str:
    parts = []
    if settings.rate_per_s is not None:
        parts.append(f"{settings.rate_per_s:g}/s per client (burst {settings.bucket_size})")
    if settings.concurrency is not None:
        parts.append(f"{settings.concurrency} in flight")
    if settings.daily_quota is not None:
        parts.append(f"{settings.daily_quota:,}/24 h")
    return ", ".join(parts)


def register(app: typer.Typer) -> None:
    app.command("up")(up)
