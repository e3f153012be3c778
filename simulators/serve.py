"""Serve one simulator on a socket: ``python -m simulators.serve crm --port 8101``.

``golive up`` starts one such process per system; uvicorn runs with uvloop and
httptools when they are installed, and no access log (the journal keeps one).
The control plane takes ``GOLIVE_SIM_ADMIN_TOKEN``; bound beyond loopback without
it, a random token is made and printed. Tokens are signed with ``GOLIVE_SIGNING_KEY``
(``golive up`` sets one per estate), else a random key.
Request body limits come from ``GOLIVE_MAX_BODY_BYTES`` and ``GOLIVE_MAX_SEED_BODY_BYTES``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

__all__ = ["main", "port_is_free", "serve"]

log = logging.getLogger(__name__)


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` and we may bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


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


def serve(
    system: str,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    admin_token: str | None = None,
) -> None:
    """Run one simulator until interrupted (blocking)."""
    import uvicorn

    from simulators.kit.runtime import SimConfig, body_limits_from_env
    from simulators.registry import create_app

    config = SimConfig(seed=seed, admin_token=admin_token, **body_limits_from_env(os.environ))
    app = create_app(system, config)
    loop, http = _loop_and_http()
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop=loop,
        http=http,
        access_log=False,
        log_level=os.environ.get("GOLIVE_LOG_LEVEL", "warning"),
        lifespan="off",
        timeout_graceful_shutdown=3,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.serve", description=__doc__)
    parser.add_argument("system")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from simulators.kit.runtime import body_limits_from_env
    from simulators.registry import SYSTEMS

    if args.system not in SYSTEMS:
        parser.error(f"unknown system {args.system!r}; known: {', '.join(SYSTEMS)}")
    try:
        body_limits_from_env(os.environ)
    except ValueError as exc:
        parser.error(str(exc))
    if args.port and not port_is_free(args.host, args.port):
        sys.stderr.write(f"{args.system}: port {args.port} on {args.host} is already in use\n")
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
    serve(args.system, args.host, args.port, args.seed, admin_token)


if __name__ == "__main__":
    main()
