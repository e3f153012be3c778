"""Serve one simulator on a socket: ``python -m simulators.serve crm --port 8101``.

``golive up`` starts one such process per system; uvicorn runs with uvloop and
httptools when they are installed, and no access log (the journal keeps one).
The control plane takes ``GOLIVE_SIM_ADMIN_TOKEN``; bound beyond loopback without
it, a random token is made and printed. Tokens are signed with ``GOLIVE_SIGNING_KEY``
(``golive up`` sets one per estate), else a random key.
Limits come from ``GOLIVE_MAX_BODY_BYTES``, ``GOLIVE_MAX_SEED_BODY_BYTES``,
``GOLIVE_JOURNAL_MAX_ENTRIES``, ``GOLIVE_EVENT_LOG_MAX_EVENTS`` and ``GOLIVE_IDEMPOTENCY_MAX_KEYS``;
``GOLIVE_FAULT_ENGINE=0`` serves it without its fault engine, and
``GOLIVE_BENCH_WITHOUT=fault-engine,journal,event-log,transactions`` without any of those
(benchmarks only, docs/benchmarks.md); throttling comes from ``GOLIVE_LIMITS``
(``vendor``, ``off`` or a JSON object of limits).
With ``--state-dir DIR`` the state lives in ``DIR/<system>.sqlite3`` and every
acknowledged write is on disk before its response (``--durability full``, the default,
survives a power cut; ``normal`` a killed process); a restart on the same folder
carries on where it stopped (docs/durability.md).
Started by an estate (``golive up``), the process gets ``GOLIVE_PARENT_PID``: on Linux it
then asks the kernel for SIGTERM when that parent dies, even by SIGKILL, so no simulator
is left holding its port.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lifecycle.limits import LimitSettings

__all__ = [
    "FAULT_ENGINE_ENV",
    "LIMITS_ENV",
    "PARENT_PID_ENV",
    "WEBHOOK_HOSTS_ENV",
    "BindProblem",
    "bind_problem",
    "die_with_parent",
    "listening_socket",
    "main",
    "parts_left_out",
    "port_is_free",
    "serve",
    "throttling_from_env",
]

log = logging.getLogger(__name__)

PARENT_PID_ENV = "GOLIVE_PARENT_PID"  # set by the estate that starts this process
FAULT_ENGINE_ENV = "GOLIVE_FAULT_ENGINE"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(expected_parent: int) -> None:
    """Get SIGTERM when the parent dies (Linux); exit now if it already has.

    The parent may die between ``fork`` and the ``prctl`` call: the process then has a
    new parent (init or a subreaper) and no signal will ever come, hence the check after.
    Elsewhere than Linux this does nothing; the estate's own stop still applies.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        return
    if os.getppid() != expected_parent:
        sys.exit(0)


class BindProblem(OSError):
    """Why an address cannot be listened on, in words (a port in use says so)."""


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A socket listening on ``host:port`` (SO_REUSEADDR, as uvicorn binds); ``BindProblem``
    names a port in use, or the address and the system's reason."""
    import errno

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # accepted connections inherit it; without it every keep-alive request waits ~40 ms
    # (Nagle against delayed ACK) on the asyncio loop.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindProblem(f"port {port} on {host} is already in use") from None
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise BindProblem(f"cannot bind {where} ({exc.strerror or exc})") from None
    return sock


def bind_problem(host: str, port: int) -> str:
    """Why ``host:port`` cannot be bound, in words; ``""`` when it can."""
    try:
        listening_socket(host, port, backlog=1).close()
    except BindProblem as exc:
        return str(exc)
    return ""


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` and we may bind it."""
    return not bind_problem(host, port)


def _loop_and_http() -> tuple[str, str]:
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:  # pragma: no cover
        http = "h11"
    return loop, http


LIMITS_ENV = "GOLIVE_LIMITS"
# Hosts beyond loopback that webhook receivers may be on, comma-separated ("*": any).
WEBHOOK_HOSTS_ENV = "GOLIVE_WEBHOOK_HOSTS"


def throttling_from_env(system: str, environ: dict[str, str] | os._Environ[str]) -> LimitSettings:
    """The throttling ``GOLIVE_LIMITS`` asks for: ``vendor``, ``off`` or a JSON object of
    limits (``{"concurrency": 5}``, ``{"profile": "vendor", "burst": 10}``).

    ValueError names the variable and what is wrong with it.
    """
    from pydantic import ValidationError

    from lifecycle.limits import LimitSettings
    from simulators.kit.errors import Invalid
    from simulators.kit.limits_api import LimitsBody, settings_from

    raw = environ.get(LIMITS_ENV, "").strip()
    if raw in ("", "off"):
        return LimitSettings()
    text = '{"profile": "vendor"}' if raw == "vendor" else raw
    try:
        return settings_from(LimitsBody.model_validate_json(text), system)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise ValueError(f"{LIMITS_ENV}: {where}: {first['msg']}") from None
    except Invalid as exc:
        raise ValueError(f"{LIMITS_ENV}: {exc.detail}") from None


# Parts a benchmark may leave out to measure what they cost (docs/benchmarks.md, target 4).
BENCH_WITHOUT_ENV = "GOLIVE_BENCH_WITHOUT"
BENCH_PARTS = ("fault-engine", "journal", "event-log", "transactions")


def parts_left_out(raw: str, state_dir: str | None = None) -> frozenset[str]:
    """The parts ``GOLIVE_BENCH_WITHOUT`` names (comma-separated); ValueError on others,
    or on any with a ``state_dir`` (the switches are for in-memory benchmarks only)."""
    parts = frozenset(p.strip().lower() for p in raw.split(",") if p.strip())
    unknown = sorted(parts - set(BENCH_PARTS))
    if unknown:
        raise ValueError(
            f"{BENCH_WITHOUT_ENV}: unknown part {unknown[0]!r} (known: {', '.join(BENCH_PARTS)})"
        )
    if parts and state_dir is not None:
        raise ValueError(f"{BENCH_WITHOUT_ENV} is for in-memory benchmarks only, not --state-dir")
    return parts


def serve(
    system: str,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    admin_token: str | None = None,
    state_dir: str | None = None,
    durability: Literal["full", "normal"] = "full",
    fd: int | None = None,
) -> None:
    """Run one simulator until interrupted (blocking).

    ``fd``: a socket already listening (``golive up`` binds every port before it starts
    the simulators, so a client that comes early waits in the backlog instead of being
    refused). ``StateDirProblem`` when ``state_dir`` is not a writable folder or is in use.
    """
    import uvicorn

    from simulators.kit.runtime import SimConfig, limits_from_env
    from simulators.registry import create_app

    # GOLIVE_FAULT_ENGINE=0 leaves the fault engine out (benchmarks/faults.py compares);
    # GOLIVE_BENCH_WITHOUT leaves out more, for that comparison only.
    engine = os.environ.get(FAULT_ENGINE_ENV, "1").strip().lower() not in ("0", "off", "false")
    without = parts_left_out(os.environ.get(BENCH_WITHOUT_ENV, ""), state_dir)
    config = SimConfig(
        seed=seed,
        admin_token=admin_token,
        fault_engine=engine and "fault-engine" not in without,
        journal_enabled="journal" not in without,
        event_log_enabled="event-log" not in without,
        transactions="transactions" not in without,
        limits=throttling_from_env(system, os.environ),
        webhook_hosts=tuple(
            h.strip() for h in os.environ.get(WEBHOOK_HOSTS_ENV, "").split(",") if h.strip()
        ),
        state_dir=state_dir,
        durability=durability,
        **limits_from_env(os.environ),
    )
    app = create_app(system, config)
    loop, http = _loop_and_http()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            loop=loop,
            http=http,
            access_log=False,
            log_level=os.environ.get("GOLIVE_LOG_LEVEL", "warning"),
            lifespan="on",
            timeout_graceful_shutdown=3,
        )
    )
    server.run(sockets=None if fd is None else [socket.socket(fileno=fd)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.serve", description=__doc__)
    parser.add_argument("system")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--state-dir", default=None, help="keep the state on disk in this folder (default: memory)"
    )
    parser.add_argument(
        "--durability", choices=("full", "normal"), default="full",
        help="full: survives a power cut (default); normal: survives a killed process",
    )  # fmt: skip
    parser.add_argument(
        "--fd", type=int, default=None,
        help="serve on this inherited listening socket (golive up binds the ports first)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    parent = os.environ.get(PARENT_PID_ENV, "")
    if parent.isdigit():
        die_with_parent(int(parent))
    from simulators.kit.runtime import limits_from_env
    from simulators.registry import SYSTEMS

    if args.system not in SYSTEMS:
        parser.error(f"unknown system {args.system!r}; known: {', '.join(SYSTEMS)}")
    try:
        limits_from_env(os.environ)
        throttling_from_env(args.system, os.environ)
        parts_left_out(os.environ.get(BENCH_WITHOUT_ENV, ""), args.state_dir)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.host.strip():
        parser.error("--host must not be empty (e.g. 127.0.0.1)")
    problem = bind_problem(args.host, args.port) if args.port and args.fd is None else ""
    if problem:
        sys.stderr.write(f"{args.system}: {problem}\n")
        sys.exit(2)
    from simulators.estate import is_loopback
    from simulators.kit.auth import ADMIN_TOKEN_ENV, new_admin_token

    admin_token = os.environ.get(ADMIN_TOKEN_ENV) or None
    if admin_token is None and not is_loopback(args.host):
        # Off loopback the control plane (reset, seed, faults) is never left open.
        admin_token = new_admin_token()
        sys.stderr.write(
            f"{args.system}: {ADMIN_TOKEN_ENV} not set; control plane admin token "
            f"X-Sim-Admin-Token: {admin_token}\n"
        )
        sys.stderr.flush()
    from simulators.kit.durable import StateDirProblem, check_state_dir

    if args.state_dir is not None:
        try:
            check_state_dir(args.state_dir)
        except StateDirProblem as exc:
            parser.error(str(exc))
    try:
        serve(
            args.system, args.host, args.port, args.seed, admin_token, args.state_dir,
            args.durability, args.fd,
        )  # fmt: skip
    except StateDirProblem as exc:  # the folder is in use by another process
        sys.stderr.write(f"{exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
