"""The ``golive`` command line: parses options, calls library code, renders results.

Sub-command modules must stay cheap to import: anything heavy (SimPy, Faker,
Schemathesis, Locust, uvicorn) is imported inside the command that needs it, so
``golive --help`` stays instant and Locust's gevent patching never leaks.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import typer
import typer.core

from golive import __version__
from golive.cli import _registry
from golive.errors import GoliveError

__all__ = ["app", "exit_status", "main"]

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
DEBUG_FLAG = "--debug"


def _flag_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """No value type for an on/off flag: help showed ``--events <bool>`` for ``--events``."""
    if self.is_flag and not self.count:
        return None
    return _typer_display_type_rich(self, ctx)


_typer_display_type_rich = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"golive {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, DEBUG_FLAG, help="Show the full traceback on errors (anywhere on the line)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    _state["debug"] = _state["debug"] or debug  # main() takes it from anywhere on the line


_registry.register(app)


def _split_debug(args: list[str]) -> tuple[list[str], bool]:
    """``--debug`` anywhere before ``--`` (``golive up --debug`` as ``golive --debug up``)."""
    end = args.index("--") if "--" in args else len(args)
    kept = [a for a in args[:end] if a != DEBUG_FLAG]
    return [*kept, *args[end:]], len(kept) != end


def _fail(message: str, code: int) -> None:
    """One line on stderr (after the traceback with --debug), then exit ``code``.

    --debug adds the traceback; it never changes the exit status.
    """
    if _state["debug"]:
        traceback.print_exc()
    sys.stderr.write(f"golive: {message}\n")
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``golive`` console script."""
    args, debug = _split_debug(sys.argv[1:] if argv is None else argv)
    _state["debug"] = _state["debug"] or debug  # main() takes it from anywhere on the line
    result: Any = None
    try:
        result = app(args=args, prog_name="golive", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("golive: aborted\n")
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors: one line and exit 2, not click's usage block. ``golive`` or
        # ``golive data`` alone raise one without a message: the help is out already.
        message = exc.format_message()
        if not message.strip():
            sys.exit(2)
        _fail(message, 2)
    except GoliveError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("golive: interrupted\n")
        sys.exit(130)
    except Exception as exc:
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", 1)
    # Without standalone mode, Typer returns the exit code of --help and friends.
    if isinstance(result, int) and result:
        sys.exit(result)


def exit_status(argv: list[str]) -> int:
    """Run golive in this process and return the exit status a shell would see.

    For tests and for Python code that drives golive (``exit_status(["reconcile"])``);
    what it prints goes to this process's stdout and stderr.
    """
    try:
        main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 0
