"""The ``golive`` command line: parses options, calls library code, renders results.

Sub-command modules must stay cheap to import: anything heavy (SimPy, Faker,
Schemathesis, Locust, uvicorn) is imported inside the command that needs it, so
``golive --help`` stays instant and Locust's gevent patching never leaks.
"""

from __future__ import annotations

import sys

import typer

from golive import __version__
from golive.cli import _registry
from golive.errors import GoliveError

__all__ = ["app", "main"]

app = typer.Typer(
    name="golive",
    help=(
        "Pre-go-live harness for quote-to-cash integrations.\n\n"
        "Example: golive up   (the five simulators on 127.0.0.1:8101..8105)"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"golive {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    _state["debug"] = debug


_registry.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``golive`` console script."""
    args = sys.argv[1:] if argv is None else argv
    _state["debug"] = "--debug" in args
    try:
        result = app(args=args, prog_name="golive", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("golive: aborted\n")
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors: one line and exit 2, not click's usage block.
        sys.stderr.write(f"golive: {exc.format_message()}\n")
        sys.exit(2)
    except GoliveError as exc:
        if _state["debug"]:
            raise
        sys.stderr.write(f"golive: {exc}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("golive: interrupted\n")
        sys.exit(130)
    except Exception as exc:
        if _state["debug"]:
            raise
        sys.stderr.write(
            f"golive: internal error: {type(exc).__name__}: {exc} (run with --debug for details)\n"
        )
        sys.exit(1)
    # Without standalone mode, Typer returns the exit code of --help and friends.
    if isinstance(result, int) and result:
        sys.exit(result)
