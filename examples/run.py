"""Start a middleware in-process and plug it into an estate: for tests, ``golive sut`` and
``golive demo``.

``start_sut("reference", env)`` serves the reference (or ``"naive"``) middleware with
uvicorn on a free 127.0.0.1 port in a thread and returns a handle with ``.url`` and
``.stop()``; ``register_webhooks(estate.urls, handle.url, secret)`` makes every simulator
that emits an event the middleware handles deliver it to ``<url>/webhooks/<system>``.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn

from examples.reference_middleware import EVENTS, ConfigError, Settings
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = [
    "KINDS",
    "SutHandle",
    "main",
    "new_webhook_secret",
    "register_webhooks",
    "start_sut",
    "sut_env",
]

KINDS = ("reference", "naive")
_ENDPOINT_ID = "golive-sut-{system}"  # the external_id of the endpoints we register


def new_webhook_secret() -> str:
    """A fresh ``whsec_`` secret (32 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class SutHandle:
    """A middleware serving in a thread of this process."""

    kind: str
    url: str
    settings: Settings
    app: Any
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _sock: socket.socket = field(repr=False)

    def stop(self) -> None:
        """Stop serving (the reference middleware's workers stop with it); idempotent."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def status(self) -> dict[str, Any]:
        """The reference middleware's ``GET /status``."""
        result: dict[str, Any] = httpx.get(f"{self.url}/status", timeout=5).json()
        return result


def build_app(kind: str, settings: Settings) -> Any:
    if kind == "reference":
        from examples.reference_middleware import create_app

        return create_app(settings)
    if kind == "naive":
        from examples.naive_middleware import create_app as create_naive

        return create_naive(settings)
    raise ValueError(f"unknown middleware {kind!r}; one of {', '.join(KINDS)}")


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: a free one), so the URL can be printed first."""
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say TCP (no Nagle delays).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)  # connections wait in the backlog until the server accepts them
    return sock


def start_sut(
    kind: Literal["reference", "naive"] | str,
    env: Mapping[str, str] | None = None,
    port: int = 0,
    state_dir: str | Path | None = None,
    **tuning: Any,
) -> SutHandle:
    """Serve a middleware in a thread; ``env`` holds the GOLIVE_* variables (default:
    ``os.environ``), ``tuning`` overrides Settings fields (retries, workers, ...)."""
    settings = Settings.from_env(os.environ if env is None else env, **tuning)
    if state_dir is not None:
        settings = replace(settings, state_dir=Path(state_dir))
    app = build_app(kind, settings)
    sock = bind(port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            loop="asyncio", timeout_graceful_shutdown=2)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"golive-sut-{kind}", daemon=True)  # fmt: skip
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the {kind} middleware did not start")
        time.sleep(0.005)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return SutHandle(kind, url, replace(settings, port=sock.getsockname()[1]), app, server,
                     thread, sock)  # fmt: skip


def sut_env(estate_urls: Mapping[str, str], secret: str, **more: str) -> dict[str, str]:
    """The GOLIVE_* variables of the SUT contract for an estate (simulators' credentials)."""
    env = {f"GOLIVE_{s.upper()}_URL": u.rstrip("/") for s, u in estate_urls.items()}
    return {"GOLIVE_CLIENT_ID": DEFAULT_CLIENT_ID, "GOLIVE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "GOLIVE_WEBHOOK_SECRET": secret, **env, **more}  # fmt: skip


def register_webhooks(
    estate_urls: Mapping[str, str], sut_url: str, secret: str,
    client: tuple[str, str] = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
) -> dict[str, str]:  # fmt: skip
    """Register ``<sut_url>/webhooks/<system>`` on each simulator that emits an event the
    middleware handles, replacing an earlier registration; system -> endpoint id."""
    done = {}
    with httpx.Client(timeout=10) as http:
        for system, events in EVENTS.items():
            base = estate_urls[system].rstrip("/")
            token = http.post(f"{base}/oauth/token", data={
                "grant_type": "client_credentials", "client_id": client[0],
                "client_secret": client[1]})  # fmt: skip
            token.raise_for_status()
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            external_id = _ENDPOINT_ID.format(system=system)
            old = http.get(f"{base}/webhook-endpoints", params={"external_id": external_id},
                           headers=auth)  # fmt: skip
            old.raise_for_status()
            for endpoint in old.json()["data"]:
                http.delete(f"{base}/webhook-endpoints/{endpoint['id']}", headers=auth)
            created = http.post(f"{base}/webhook-endpoints", headers=auth, json={
                "url": f"{sut_url.rstrip('/')}/webhooks/{system}", "events": events,
                "secret": secret, "external_id": external_id,
                "description": "golive middleware"})  # fmt: skip
            created.raise_for_status()
            done[system] = created.json()["id"]
    return done


def main(kind: str, argv: list[str] | None = None) -> int:
    """``python -m examples.<kind>_middleware``: serve in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog=f"python -m examples.{kind}_middleware",
        description=f"The {kind} quote-to-cash middleware; the GOLIVE_* variables of "
        "docs/sut-contract.md configure it.",
    )
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default GOLIVE_SUT_PORT)")
    parser.add_argument("--state-dir", type=Path, help="folder of its SQLite files")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = replace(settings, state_dir=args.state_dir or settings.state_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        sock = bind(settings.port if args.port is None else args.port)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{kind} middleware listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(build_app(kind, settings), log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
