"""Simulator processes forked from one server that has imported the web stack once.

Five processes that each import FastAPI, pydantic and uvicorn take about half a second
of CPU apiece before they can answer; on a small machine that is most of what
``golive up`` waits for (docs/benchmarks.md, target 7). So the estate starts one fork
server (``python -m simulators.forkserver``, a fresh interpreter with no threads),
which imports the common stack and every system's modules once, then forks the
simulators: a child only builds its app and serves.

A child is the process ``python -m simulators.serve`` would be: the same arguments, the
environment the estate gives it, its log file on stdout and stderr, the listening
socket the estate bound. The server tells the estate, one line each on a pipe, the
pid of every child it forked and the exit code of every child that ended; ``Child``
gives the estate the part of ``subprocess.Popen`` it uses over that. Dying with the
parent holds along the chain: the server gets SIGTERM when the estate's process ends
(even by SIGKILL) and passes it on, and each child gets SIGTERM when the server ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from simulators.serve import PARENT_PID_ENV

__all__ = ["Child", "ForkServer", "start_children"]


class ForkServer:
    """One ``python -m simulators.forkserver`` and what it has said about its children."""

    def __init__(self, specs: list[dict[str, Any]], sockets: Sequence[socket.socket]) -> None:
        self._changed = threading.Condition()
        self.pids: dict[str, int] = {}
        self.codes: dict[str, int] = {}
        self.systems = [spec["system"] for spec in specs]
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "simulators.forkserver"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            pass_fds=[s.fileno() for s in sockets],
            env={**os.environ, PARENT_PID_ENV: str(os.getpid())},
        )  # fmt: skip
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        with self._proc.stdin as stdin:
            stdin.write(json.dumps(specs).encode())
        self._reader = threading.Thread(
            target=self._read, args=(self._proc.stdout,), name="golive-forkserver", daemon=True
        )
        self._reader.start()

    def _read(self, stdout: IO[bytes]) -> None:
        """Follow the server's lines: ``pid SYSTEM PID`` and ``exit SYSTEM CODE``."""
        with stdout:
            for line in stdout:
                parts = line.decode("ascii", "replace").split()
                if (
                    len(parts) == 3
                    and parts[0] in ("pid", "exit")
                    and parts[2].lstrip("-").isdigit()
                ):
                    with self._changed:
                        (self.pids if parts[0] == "pid" else self.codes)[parts[1]] = int(parts[2])
                        self._changed.notify_all()
        # The server ended: a child it never reported on ended with it.
        code = self._proc.wait()
        with self._changed:
            for system in self.systems:
                self.codes.setdefault(system, code if code else -signal.SIGTERM)
            self._changed.notify_all()

    def wait_for(self, system: str, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: system in self.codes, timeout)
            return self.codes.get(system)

    def pid_of(self, system: str, timeout: float = 10.0) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: system in self.pids or system in self.codes, timeout)
            return self.pids.get(system)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the children (SIGTERM, then SIGKILL past ``timeout_s``) and the server."""
        if self._proc.poll() is None:
            self._proc.terminate()  # the server passes SIGTERM on and waits for them
        try:
            self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            for system, pid in self.pids.items():
                if system not in self.codes:
                    _signal(pid, signal.SIGKILL)
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=5)


class Child:
    """One forked simulator, with the part of ``subprocess.Popen`` an estate uses."""

    def __init__(self, server: ForkServer, system: str) -> None:
        self._server = server
        self.system = system

    @property
    def pid(self) -> int:
        pid = self._server.pid_of(self.system)
        if pid is None:
            raise ProcessLookupError(f"the fork server never started {self.system}")
        return pid

    @property
    def returncode(self) -> int | None:
        return self._server.codes.get(self.system)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """The exit code; ``subprocess.TimeoutExpired`` if it runs past ``timeout``."""
        code = self._server.wait_for(self.system, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"{self.system} simulator", timeout or 0.0)
        return code

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            pid = self._server.pid_of(self.system)
            if pid is not None:
                _signal(pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended in the meantime
        os.kill(pid, signum)


def start_children(
    children: Mapping[str, tuple[Sequence[str], Mapping[str, str], Path, socket.socket]],
) -> tuple[ForkServer, dict[str, Child]]:
    """Fork ``python -m simulators.serve ARGS`` per system: (args, env, log file, socket)."""
    specs = [
        {"system": system, "args": list(args), "env": dict(env), "log": str(log),
         "fd": sock.fileno(), "cwd": os.getcwd()}
        for system, (args, env, log, sock) in children.items()
    ]  # fmt: skip
    server = ForkServer(specs, [c[3] for c in children.values()])
    return server, {system: Child(server, system) for system in children}
