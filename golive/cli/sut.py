"""``golive sut reference|naive`` and ``golive sut dlq list|replay``: the bundled middlewares.

The middlewares live in ``examples/`` (the reference one is the pattern to copy,
docs/sut-contract.md); this module only parses options and calls ``examples.run``.
uvicorn and the middlewares load inside the commands, so ``golive --help`` stays instant.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import typer

from golive.errors import UsageProblem

__all__ = ["register"]

sut_app = typer.Typer(
    help="Run the bundled middlewares (the system under test) and their dead letters.\n\n"
    "Example: golive sut reference --register   (against golive up's simulators)",
    no_args_is_help=True,
)
dlq_app = typer.Typer(
    help="The reference middleware's dead letters: events that exhausted their retries.\n\n"
    "Example: golive sut dlq replay --id evt_crm_000000000042",
    no_args_is_help=True,
)

_DEFAULT_STATE = Path(".golive/reference-middleware")
_PORT = typer.Option(
    None, "--port", min=0, max=65535,
    help="Port on 127.0.0.1 (default: GOLIVE_SUT_PORT, \\[sut] url, else 9000).",
)  # fmt: skip
_TARGET = typer.Option("local", "--target", help="A target of golive.toml (default: local).")
_REGISTER = typer.Option(
    False, "--register", help="Register its webhook endpoints on the target's simulators."
)
_STATE = typer.Option(None, "--state-dir",
                      help="Folder of its SQLite files (default: GOLIVE_SUT_STATE_DIR, "
                      f"else {_DEFAULT_STATE}).")  # fmt: skip


def _state_dir(given: Path | None) -> Path:
    return given or Path(os.environ.get("GOLIVE_SUT_STATE_DIR", str(_DEFAULT_STATE)))


def _port(given: int | None, sut_url: str | None) -> int:
    if given is not None:
        return given
    text = os.environ.get("GOLIVE_SUT_PORT")
    if text:
        if not text.isdigit() or int(text) > 65535:
            raise UsageProblem(f"GOLIVE_SUT_PORT must be a port number, got {text!r}")
        return int(text)
    return (urlsplit(sut_url).port if sut_url else None) or 9000


def _run(kind: str, port: int | None, target: str, register: bool, state: Path | None) -> None:
    from examples.reference_middleware import ConfigError
    from examples.run import new_webhook_secret, register_webhooks, start_sut, sut_env
    from golive.config import load_config

    cfg = load_config()
    urls = cfg.target(target)
    client_id, client_secret = cfg.credentials(target)
    secret = os.environ.get("GOLIVE_WEBHOOK_SECRET") or new_webhook_secret()
    env = {**sut_env(urls, secret), "GOLIVE_CLIENT_ID": client_id,
           "GOLIVE_CLIENT_SECRET": client_secret}  # fmt: skip
    try:
        sut = start_sut(kind, env, port=_port(port, cfg.sut_url), state_dir=_state_dir(state))
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    except OSError as exc:
        raise UsageProblem(f"cannot listen on 127.0.0.1: {exc.strerror or exc}") from None
    typer.echo(f"{kind} middleware listening on {sut.url} (target {target}); Ctrl-C stops it")
    try:
        if register:
            try:
                register_webhooks(urls, sut.url, secret, (client_id, client_secret))
            except Exception as exc:
                raise UsageProblem(f"could not register webhooks on {target}: {exc}") from None
            typer.echo(f"webhooks: {sut.url}/webhooks/<system> registered on crm and billing")
        while sut._thread.is_alive():
            time.sleep(0.5)
    finally:
        sut.stop()


@sut_app.command("reference")
def reference(port: int | None = _PORT, target: str = _TARGET, register: bool = _REGISTER,
              state_dir: Path | None = _STATE) -> None:  # fmt: skip
    """Run the reference middleware in the foreground.

    Example: golive sut reference --register --port 9000
    """
    _run("reference", port, target, register, state_dir)


@sut_app.command("naive")
def naive(port: int | None = _PORT, target: str = _TARGET, register: bool = _REGISTER) -> None:
    """Run the naive middleware (wrong on purpose: no dedupe, keys, retries or parking).

    Example: golive sut naive --register
    """
    _run("naive", port, target, register, None)


def _store(state_dir: Path | None):  # type: ignore[no-untyped-def]
    from examples.reference_middleware.store import Store

    path = _state_dir(state_dir) / "inbox.sqlite3"
    if not path.exists():
        raise UsageProblem(f"no dead-letter store at {path} (has the middleware run here?)")
    return Store(path)


@dlq_app.command("list")
def dlq_list(state_dir: Path | None = _STATE) -> None:
    """List the dead letters: event, type, correlation id, attempts, last error.

    Example: golive sut dlq list --state-dir .golive/reference-middleware
    """
    store = _store(state_dir)
    dead = store.dead()
    store.close()
    typer.echo(f"{len(dead)} dead letter(s)")
    for job in dead:
        typer.echo(f"{job.event_id}  {job.type}  corr={job.correlation_id}  "
                   f"attempts={job.attempts}  {job.error}")  # fmt: skip


@dlq_app.command("replay")
def dlq_replay(
    event_id: str | None = typer.Option(None, "--id", help="Only this event (default: all)."),
    state_dir: Path | None = _STATE,
) -> None:
    """Put dead letters back in the queue; a running middleware takes them at once.

    Example: golive sut dlq replay --id evt_crm_000000000042
    """
    store = _store(state_dir)
    count = store.replay(event_id)
    store.close()
    if event_id and count == 0:
        raise UsageProblem(f"no dead letter {event_id!r} (golive sut dlq list shows them)")
    typer.echo(f"{count} dead letter(s) replayed")


def register(app: typer.Typer) -> None:
    sut_app.add_typer(dlq_app, name="dlq")
    app.add_typer(sut_app, name="sut")
