"""Run the estate: all five simulators (or some) on loopback, in threads or processes.

``start_estate()`` is the public helper behind ``golive up``, the pytest plugin and
golive's own tests: threads for tests (fast, one process, free ports), processes
for ``golive up`` (one per system, forked from one fork server that has imported
the web stack once: ``simulators/children.py``). A child process writes its log to a file of
its own (a pipe nobody reads fills up and freezes the child), and ``check()``
says which child exited or stopped answering its health check.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lifecycle.limits import LimitSettings
from simulators.kit.credentials import (
    ADMIN_TOKEN_ENV,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SIGNING_KEY_ENV,
    new_admin_token,
    new_signing_key,
)
from simulators.kit.statedir import DURABILITY_MODES, StateDirProblem, check_state_dir
from simulators.loopback import is_loopback
from simulators.registry import SYSTEMS, default_port

if TYPE_CHECKING:
    import httpx

    from simulators.children import Child

# httpx and the web stack are imported where they are used: ``golive up`` starts the
# simulators first, so its own start-up stays off their critical path (docs/benchmarks.md).

__all__ = [
    "Estate",
    "EstateError",
    "UnknownSystem",
    "is_loopback",
    "running_estate",
    "start_estate",
]

_HEALTH_TIMEOUT_S = 20.0
# The state directory of the estate (None: memory) and its durability mode.
_Storage = tuple[Path | None, Literal["full", "normal"]]
# A child that has not answered /_sim/health for this long is reported as hung.
HEALTH_GRACE_S = 15.0
_HEALTH_PROBE_TIMEOUT_S = 2.0
_LOG_LINE_MAX = 300


class EstateError(RuntimeError):
    """The estate could not start (a port is taken, a simulator died)."""


class UnknownSystem(KeyError):
    """A system this estate does not run (a typo, or one left out of ``golive_systems``)."""

    def __str__(self) -> str:  # KeyError's own quotes the message as a repr
        return str(self.args[0]) if self.args else ""


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _bind(host: str, port: int) -> socket.socket:
    """A non-blocking listening socket (threads mode); EstateError says why not."""
    from simulators.serve import BindProblem, listening_socket

    try:
        sock = listening_socket(host, port)
    except BindProblem as exc:
        raise EstateError(str(exc)) from None
    sock.setblocking(False)
    return sock


@dataclass
class Estate:
    """Simulators that are running: base URL per system, and how to stop them."""

    urls: dict[str, str]
    apps: dict[str, Any] = field(default_factory=dict)
    processes: dict[str, Child] = field(default_factory=dict)
    log_dir: Path | None = None
    log_files: dict[str, Path] = field(default_factory=dict)
    health_grace_s: float = HEALTH_GRACE_S
    admin_token: str | None = field(default=None, repr=False)
    _stoppers: list[Any] = field(default_factory=list, repr=False)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)
    _silent_since: dict[str, float] = field(default_factory=dict, repr=False)

    def url(self, system: str) -> str:
        """Base URL of one running simulator; ``UnknownSystem`` names the running ones."""
        url = self.urls.get(system)
        if url is None:
            running = ", ".join(self.urls) or "nothing"
            if system not in SYSTEMS:
                raise UnknownSystem(
                    f"{system!r} is not a golive system (known: {', '.join(SYSTEMS)}); "
                    f"this estate runs: {running}"
                )
            raise UnknownSystem(
                f"{system!r} is not running in this estate, which runs: {running} "
                "(the golive_systems ini option chooses them)"
            )
        return url

    def token(self, system: str) -> str:
        if system not in self._tokens:
            import httpx

            response = httpx.post(
                f"{self.url(system)}/oauth/token",
                data={"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
                      "client_secret": DEFAULT_CLIENT_SECRET},
                timeout=10,
            )  # fmt: skip
            response.raise_for_status()
            self._tokens[system] = response.json()["access_token"]
        return self._tokens[system]

    def client(self, system: str, **kwargs: Any) -> httpx.Client:
        """A signed-in httpx.Client for one simulator (close it, or use it with ``with``)."""
        import httpx

        headers = {"Authorization": f"Bearer {self.token(system)}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url(system), headers=headers, timeout=10, **kwargs)

    @property
    def admin_headers(self) -> dict[str, str]:
        """What a control-plane request needs: ``X-Sim-Admin-Token`` when the estate has one."""
        return {"X-Sim-Admin-Token": self.admin_token} if self.admin_token else {}

    def reset(self) -> None:
        """Empty every simulator (state, events, journal, idempotency keys)."""
        import httpx

        for url in self.urls.values():
            httpx.post(
                f"{url}/_sim/reset", headers=self.admin_headers, timeout=10
            ).raise_for_status()

    def export(self) -> dict[str, Any]:
        import httpx

        return {
            s: httpx.get(f"{u}/_sim/export", headers=self.admin_headers, timeout=30).json()
            for s, u in self.urls.items()
        }

    def check(self) -> None:
        """Raise EstateError naming the first system that exited or stopped answering.

        A child process that exited is reported at once; one that does not answer
        ``/_sim/health`` is reported after ``health_grace_s`` of silence (a busy
        simulator under load may be slow for a moment). The message is one line
        with the system, its URL, and its log file (processes mode).
        """
        for system, proc in self.processes.items():
            if proc.poll() is not None:
                last = _last_line(self.log_files.get(system))
                raise EstateError(
                    f"{self._where(system)} exited with code {proc.returncode}"
                    + (f" ({last})" if last else "")
                    + self._log_hint(system)
                )
        import httpx

        now = time.monotonic()
        with httpx.Client(timeout=_HEALTH_PROBE_TIMEOUT_S, headers=self.admin_headers) as client:
            for system, url in self.urls.items():
                try:
                    healthy = client.get(f"{url}/_sim/health").status_code == 200
                except httpx.HTTPError:
                    healthy = False
                if healthy:
                    self._silent_since.pop(system, None)
                    continue
                since = self._silent_since.setdefault(system, now)
                if now - since >= self.health_grace_s:
                    raise EstateError(
                        f"{self._where(system)} stopped answering /_sim/health for "
                        f"{now - since:.0f} s{self._log_hint(system)}"
                    )

    def _where(self, system: str) -> str:
        return f"{system} ({self.urls[system]})"

    def _log_hint(self, system: str) -> str:
        log = self.log_files.get(system)
        return f"; log: {log}" if log else ""

    def stop(self) -> None:
        for stop in reversed(self._stoppers):
            stop()
        self._stoppers.clear()

    def __enter__(self) -> Estate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start_threads(
    systems: list[str],
    host: str,
    ports: dict[str, int],
    seed: int,
    admin_token: str | None,
    signing_key: str,
    limits: Mapping[str, LimitSettings],
    storage: _Storage,
) -> Estate:
    import uvicorn

    from simulators.kit.runtime import SimConfig
    from simulators.registry import create_app

    estate = Estate(urls={}, admin_token=admin_token)
    try:
        for system in systems:
            sock = _bind(host, ports.get(system, 0))
            port = sock.getsockname()[1]
            settings = SimConfig(
                seed=seed, admin_token=admin_token, signing_key=signing_key.encode(),
                limits=limits.get(system), state_dir=storage[0], durability=storage[1],
            )  # fmt: skip
            try:
                app = create_app(system, settings)
            except StateDirProblem as exc:
                raise EstateError(str(exc)) from None
            config = uvicorn.Config(
                app, log_level="warning", access_log=False, lifespan="on", loop="asyncio",
                timeout_graceful_shutdown=1,
            )  # fmt: skip
            server = uvicorn.Server(config)
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, name=f"golive-{system}", daemon=True
            )
            thread.start()

            def stop(server: uvicorn.Server = server, thread: threading.Thread = thread,
                     sock: socket.socket = sock, app: Any = app) -> None:  # fmt: skip
                server.should_exit = True
                thread.join(timeout=5)
                sock.close()
                durable = app.state.sim.rt.durable
                if durable is not None:  # writes what is queued, frees the folder's lock
                    durable.close()

            estate._stoppers.append(stop)
            estate.urls[system] = _base_url(host, port)
            estate.apps[system] = app
            deadline = time.monotonic() + _HEALTH_TIMEOUT_S
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise EstateError(f"{system} did not start")
                time.sleep(0.005)
    except BaseException:
        estate.stop()
        raise
    return estate


def _last_line(log: Path | None) -> str:
    """The last non-empty line of a log file (its tail only), shortened to one line."""
    if log is None:
        return ""
    try:
        with log.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - 8192))
            tail = file.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:_LOG_LINE_MAX] if lines else ""


def _wait_healthy(estate: Estate) -> None:
    import httpx

    pending = dict(estate.urls)
    deadline = time.monotonic() + _HEALTH_TIMEOUT_S
    with httpx.Client(timeout=0.5, headers=estate.admin_headers) as client:
        while pending:
            for system, url in list(pending.items()):
                proc = estate.processes[system]
                if proc.poll() is not None:
                    last = _last_line(estate.log_files.get(system)) or f"exit {proc.returncode}"
                    raise EstateError(
                        f"{system} ({url}) stopped at start: {last}{estate._log_hint(system)}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{url}/_sim/health").status_code == 200:
                        del pending[system]
            if pending and time.monotonic() > deadline:
                raise EstateError(f"not healthy after {_HEALTH_TIMEOUT_S:.0f} s: {sorted(pending)}")
            if pending:
                time.sleep(0.05)


def _log_folder(log_dir: str | Path | None) -> Path:
    if log_dir is None:
        return Path(tempfile.mkdtemp(prefix="golive-up-"))
    folder = Path(log_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EstateError(f"log folder {folder}: {exc.strerror}") from None
    return folder


def _start_processes(
    systems: list[str],
    host: str,
    ports: dict[str, int],
    seed: int,
    admin_token: str | None,
    log_dir: str | Path | None,
    signing_key: str,
    limits: Mapping[str, LimitSettings],
    storage: _Storage,
) -> Estate:
    from simulators.serve import BindProblem, listening_socket

    # Every port listens before any simulator starts: a client that comes early waits in
    # the backlog until its simulator is ready, instead of being refused.
    sockets: dict[str, socket.socket] = {}
    try:
        for system in systems:
            sockets[system] = listening_socket(host, ports[system])
    except BindProblem as exc:
        for sock in sockets.values():
            sock.close()
        raise EstateError(f"{exc} ({system})") from None
    try:
        return _spawn(systems, host, ports, seed, admin_token, log_dir, signing_key, limits,
                      storage, sockets)  # fmt: skip
    finally:
        for sock in sockets.values():  # the children hold their own copies
            sock.close()


def _spawn(
    systems: list[str],
    host: str,
    ports: dict[str, int],
    seed: int,
    admin_token: str | None,
    log_dir: str | Path | None,
    signing_key: str,
    limits: Mapping[str, LimitSettings],
    storage: _Storage,
    sockets: dict[str, socket.socket],
) -> Estate:
    from simulators.children import start_children
    from simulators.serve import LIMITS_ENV

    folder = _log_folder(log_dir)
    estate = Estate(
        urls={s: _base_url(host, ports[s]) for s in systems},
        log_dir=folder,
        log_files={s: folder / f"{s}.log" for s in systems},
        admin_token=admin_token,
    )
    # The children die with us, even by SIGKILL (simulators/children.py).
    env = {**os.environ, "PYTHONUNBUFFERED": "1", SIGNING_KEY_ENV: signing_key}
    env.pop(ADMIN_TOKEN_ENV, None)
    if admin_token:
        env[ADMIN_TOKEN_ENV] = admin_token
    disk = [] if storage[0] is None else [
        "--state-dir", str(storage[0]), "--durability", storage[1]]  # fmt: skip
    wanted: dict[str, tuple[list[str], dict[str, str], Path, socket.socket]] = {}
    try:
        for system in systems:
            # A file never blocks the writer, as an unread pipe does once 64 KiB of
            # warnings (a client speaking TLS to a plain port) have filled it.
            try:  # made here, so a folder that refuses it is named before any child starts
                estate.log_files[system].open("ab").close()
            except OSError as exc:
                raise EstateError(f"{estate.log_files[system]}: {exc.strerror}") from None
            child_env = dict(env)
            child_env.pop(LIMITS_ENV, None)
            if system in limits:
                child_env[LIMITS_ENV] = json.dumps(limits[system].as_dict())
            wanted[system] = (
                [system, "--host", host, "--port", str(ports[system]), "--seed", str(seed),
                 *disk],
                child_env, estate.log_files[system], sockets[system],
            )  # fmt: skip
        server, children = start_children(wanted)
        estate._stoppers.append(server.stop)  # SIGTERM to each child, SIGKILL past 10 s
        estate.processes.update(children)
        estate.apps = dict(children)
        _wait_healthy(estate)
    except BaseException:
        estate.stop()
        raise
    return estate


def start_estate(
    systems: Iterable[str] = SYSTEMS,
    *,
    host: str = "127.0.0.1",
    base_port: int | None = None,
    mode: Literal["threads", "processes"] = "threads",
    seed: int = 0,
    admin_token: str | None = None,
    log_dir: str | Path | None = None,
    signing_key: str | None = None,
    limits: Mapping[str, LimitSettings] | None = None,
    state_dir: str | Path | None = None,
    durability: Literal["full", "normal"] = "full",
) -> Estate:
    """Start simulators and wait until each answers its health check.

    ``base_port=None`` picks free ports (threads mode); otherwise system *i* listens
    on ``base_port + i`` in the order of ``SYSTEMS`` (crm, cpq, billing, support, erp).
    ``admin_token`` guards the control plane; without it, ``GOLIVE_SIM_ADMIN_TOKEN``,
    and off loopback a new random one (``estate.admin_token``; golive's own clients of
    the estate send it).
    ``log_dir`` (processes mode) receives one ``<system>.log`` per child; without it
    the logs go to a new temporary folder, ``estate.log_dir``.
    ``signing_key`` signs the tokens of every system of this estate; without it,
    ``GOLIVE_SIGNING_KEY`` or else a new random key.
    ``limits`` throttles the systems it names (docs/limits.md, throttling); the others
    are not throttled.
    ``state_dir`` keeps each system's state on disk, ``<state_dir>/<system>.sqlite3``
    (made if missing): acknowledged writes survive a crash and a restart on the same
    folder carries on (docs/durability.md); ``durability`` is ``"full"`` (survives a
    power cut) or ``"normal"`` (survives a killed process). Without it, memory only.
    """
    if not host.strip():
        raise EstateError("the host to bind must not be empty (e.g. 127.0.0.1)")
    chosen = list(systems)
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown:
        raise EstateError(f"unknown system(s) {unknown}; known: {', '.join(SYSTEMS)}")
    if base_port is None:
        if mode == "processes":
            raise EstateError("processes mode needs a base port")
        ports: dict[str, int] = {}
    else:
        ports = {s: default_port(s, base_port) for s in chosen}
    key = signing_key or os.environ.get(SIGNING_KEY_ENV) or new_signing_key()
    admin = admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None
    if admin is None and not is_loopback(host):
        admin = new_admin_token()
    throttled = dict(limits or {})
    storage: _Storage = (None, durability)
    if state_dir is not None:
        try:
            storage = (check_state_dir(state_dir), durability)
        except StateDirProblem as exc:
            raise EstateError(str(exc)) from None
    if durability not in DURABILITY_MODES:
        raise EstateError(f"durability must be one of {', '.join(DURABILITY_MODES)}")
    if mode == "threads":
        return _start_threads(chosen, host, ports, seed, admin, key, throttled, storage)
    return _start_processes(chosen, host, ports, seed, admin, log_dir, key, throttled, storage)


@contextlib.contextmanager
def running_estate(*args: Any, **kwargs: Any) -> Iterator[Estate]:
    """``with running_estate() as estate:`` starts the estate and always stops it."""
    estate = start_estate(*args, **kwargs)
    try:
        yield estate
    finally:
        estate.stop()
