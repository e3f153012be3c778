"""The fork server behind ``golive up``: what it reports, and that it stops what it forked."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from simulators.children import start_children
from simulators.serve import listening_socket

pytestmark = pytest.mark.live


def _health(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=5).status_code


def test_each_child_serves_its_socket_and_reports_how_it_ended(tmp_path):
    good, bad = listening_socket("127.0.0.1", 0), listening_socket("127.0.0.1", 0)
    port = good.getsockname()[1]
    env = {**os.environ, "GOLIVE_JOURNAL_MAX_ENTRIES": "7"}
    server, children = start_children({
        "crm": (["crm", "--port", str(port)], env, tmp_path / "crm.log", good),
        "erp": (["erp", "--seed", "not-a-number"], env, tmp_path / "erp.log", bad),
    })  # fmt: skip
    good.close()
    bad.close()
    try:
        assert children["erp"].wait(timeout=30) == 2  # argparse refused the seed
        assert "--seed: invalid int value" in (tmp_path / "erp.log").read_text()
        deadline = time.monotonic() + 30
        while True:  # the early client waits in the backlog of the bound socket
            try:
                assert _health(port) == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        for _ in range(9):
            _health(port)
        journal = httpx.get(f"http://127.0.0.1:{port}/_sim/journal", timeout=5).json()["data"]
        assert len(journal) == 7  # the environment given reached the child
        crm = children["crm"]
        assert crm.poll() is None
        with open(f"/proc/{crm.pid}/cmdline", "rb") as fh:
            title = fh.read().replace(b"\0", b" ")
        assert b"-m simulators.serve crm --port" in title
        with pytest.raises(subprocess.TimeoutExpired):
            crm.wait(timeout=0.1)
        crm.send_signal(signal.SIGKILL)
        assert crm.wait(timeout=10) == -signal.SIGKILL
    finally:
        server.stop()
    assert all(child.poll() is not None for child in children.values())


def test_stopping_the_server_stops_every_child(tmp_path):
    socks = [listening_socket("127.0.0.1", 0) for _ in range(2)]
    ports = [s.getsockname()[1] for s in socks]
    server, children = start_children({
        system: ([system, "--port", str(port)], dict(os.environ), tmp_path / f"{system}.log", s)
        for system, port, s in zip(("crm", "support"), ports, socks, strict=True)
    })  # fmt: skip
    for s in socks:
        s.close()
    pids = [child.pid for child in children.values()]
    server.stop()
    assert [child.poll() for child in children.values()] == [-signal.SIGTERM] * 2
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}/stat") or _zombie_or_gone(pid)
    for port in ports:
        with pytest.raises(httpx.TransportError):
            _health(port)


def _zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] == "Z"
    except FileNotFoundError:
        return True
