"""The fork server behind ``golive up``: import the web stack once, fork each simulator.

Started by ``simulators/children.py`` with the listening sockets it bound; reads the
children to start as JSON on stdin (system, ``simulators.serve`` arguments, environment,
log file, socket fd, working folder), imports ``simulators/_preload.py``, forks one
child per system and writes ``pid SYSTEM PID`` and, when a child ends,
``exit SYSTEM CODE`` on stdout. SIGTERM is passed on to the children; the server ends
when the last one has. Not a command for users: ``golive up`` runs it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import sys
import traceback
from typing import Any

import setproctitle

__all__ = ["main"]


def _say(line: str) -> None:
    os.write(1, (line + "\n").encode("ascii", "replace"))


def _become(spec: dict[str, Any], others: list[int], server_pid: int) -> int:
    """Turn this forked process into the simulator ``spec`` describes; its exit code."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    # A SIGTERM sent since the fork waited, blocked (see main): it ends this child now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    for fd in others:  # the other simulators' sockets
        os.close(fd)
    out = os.open(spec["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)  # also ends this child's copy of the pipe to the estate
    os.dup2(out, 2)
    os.close(out)
    os.close(null)
    # Line by line, as PYTHONUNBUFFERED asks of a process started the ordinary way.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    # ps and top show it as the process ``python -m simulators.serve`` it stands for.
    setproctitle.setproctitle(
        " ".join([sys.executable, "-m", "simulators.serve", *spec["args"], "--fd", str(spec["fd"])])
    )
    os.chdir(spec["cwd"])
    os.environ.clear()
    os.environ.update(spec["env"])
    from simulators.serve import PARENT_PID_ENV, main

    os.environ[PARENT_PID_ENV] = str(server_pid)  # dies with the server (serve.main)
    try:
        main([*spec["args"], "--fd", str(spec["fd"])])
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        sys.stderr.write(f"{code}\n")
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def main() -> None:
    from simulators.serve import PARENT_PID_ENV, die_with_parent

    parent = os.environ.get(PARENT_PID_ENV, "")
    if parent.isdigit():
        die_with_parent(int(parent))
    specs: list[dict[str, Any]] = json.loads(sys.stdin.buffer.read() or b"[]")
    children: dict[int, str] = {}
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the children themselves
    gc.disable()  # imports make many objects and no garbage: collecting finds nothing
    try:
        import simulators._preload  # noqa: F401
    except BaseException as exc:  # every child would fail the same way: say it in each log
        for spec in specs:
            with open(spec["log"], "a") as log:
                log.write(f"golive fork server: {type(exc).__name__}: {exc}\n")
        raise
    # What was imported stays for good: kept out of every child's collections.
    gc.freeze()
    gc.enable()
    fds = [spec["fd"] for spec in specs]
    me = os.getpid()
    # SIGTERM waits while forking: in a new child before it drops the server's handler (it
    # would run the server's stop), or in the server before the child is in ``children``
    # (it would never be told, and the server would wait for it for ever).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        for spec in specs:
            if stopping:
                break
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = _become(spec, [fd for fd in fds if fd != spec["fd"]], me)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            children[pid] = spec["system"]
            _say(f"pid {spec['system']} {pid}")
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    for fd in fds:
        os.close(fd)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        system = children.pop(pid, None)
        if system is not None:
            _say(f"exit {system} {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
