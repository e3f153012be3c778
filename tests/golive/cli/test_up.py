from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from simulators.testing import free_base_port

GOLIVE = [sys.executable, "-m", "golive"]


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    seen = ""
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if needle in line:
            return seen
        if proc.poll() is not None:
            break
    raise AssertionError(f"{needle!r} not printed; got:\n{seen}")


@pytest.mark.live
def test_up_serves_all_five_and_stops_every_child_on_sigterm():
    base = free_base_port()
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [*GOLIVE, "up", "--base-port", str(base)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        out = _wait_for_line(proc, "Press Ctrl-C")
        assert "client_id=golive" in out
        for i, system in enumerate(("crm", "cpq", "billing", "support", "erp")):
            url = f"http://127.0.0.1:{base + i}"
            assert url in out
            assert httpx.get(f"{url}/_sim/health").json()["system"] == system
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        for i in range(5):
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{base + i}/_sim/health", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.live
def test_a_client_that_comes_before_the_simulators_are_ready_waits_instead_of_being_refused():
    """Every port listens before any simulator starts: once one port takes a connection,
    all five do, and a request sent then is answered when its simulator is ready."""
    base = free_base_port()
    proc = subprocess.Popen([*GOLIVE, "up", "--base-port", str(base)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:  # refused only until golive up has bound the ports
            assert proc.poll() is None
            assert time.monotonic() < deadline
            try:
                socket.create_connection(("127.0.0.1", base), timeout=1).close()
                break
            except ConnectionRefusedError:
                time.sleep(0.005)
        # That instant every port takes connections (the simulators start after).
        for i in range(5):
            socket.create_connection(("127.0.0.1", base + i), timeout=1).close()
        # No simulator need be ready yet; none of these may be refused, bearer token
        # with a non-ASCII byte and an oversized correlation id included.
        headers = {"Authorization": "Bearer t\xf6ken".encode("latin-1"),
                   "X-Correlation-Id": b"c" * 5000}  # fmt: skip
        for i in range(5):
            r = httpx.get(f"http://127.0.0.1:{base + i}/_sim/health", timeout=30)
            assert r.status_code == 200
            refused = httpx.get(f"http://127.0.0.1:{base + i}/openapi.json", headers=headers,
                                timeout=30)  # fmt: skip
            assert refused.status_code in (400, 401)
            assert refused.headers["content-type"] == "application/problem+json"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.live
def test_up_names_the_port_that_is_taken():
    base = free_base_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 4))
        squatter.listen()
        result = subprocess.run(
            [*GOLIVE, "up", "--base-port", str(base)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 2
    assert f"port {base + 4}" in result.stderr
    assert "erp" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("256.1.1.1", "cannot bind 256.1.1.1:9640 ("),
        ("nosuchhost.invalid", "cannot bind nosuchhost.invalid:9640 ("),
        ("1.2.3.4", "cannot bind 1.2.3.4:9640 (Cannot assign requested address)"),
        ("", "--host must not be empty"),
    ],
)
def test_up_names_why_a_host_cannot_be_bound(host, message):
    result = subprocess.run([*GOLIVE, "up", "--host", host, "--base-port", "9640"],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert "already in use" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_up_refuses_an_unknown_system_in_one_line():
    result = subprocess.run([*GOLIVE, "up", "--only", "crm,hr"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "golive: --only: unknown system(s) ['hr']; choose from crm, cpq, billing, support, erp"
    ]


def _children(pid: int) -> dict[str, int]:
    """Simulator pids under ``pid`` by the system they serve.

    They are the fork server's children, so grandchildren of ``golive up``; each shows
    itself as ``python -m simulators.serve <system> ...``.
    """
    parents: dict[int, int] = {}
    titles: dict[int, list[bytes]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            titles[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])

    def under(child: int) -> bool:
        while child in parents and child > 1:
            child = parents[child]
            if child == pid:
                return True
        return False

    found = {}
    for child, title in titles.items():
        words = b" ".join(title).split()
        if b"simulators.serve" in words and under(child):
            found[words[words.index(b"simulators.serve") + 1].decode()] = child
    return found


@pytest.mark.live
def test_up_names_a_simulator_that_died_stops_the_rest_and_exits_1(tmp_path):
    base = free_base_port(2)
    env = {**os.environ, "COLUMNS": "300"}
    logs = tmp_path / "logs"
    proc = subprocess.Popen(
        [*GOLIVE, "up", "--only", "crm,cpq", "--base-port", str(base), "--log-dir", str(logs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        out = _wait_for_line(proc, "Press Ctrl-C")
        assert f"logs: {logs}" in out
        children = _children(proc.pid)
        assert sorted(children) == ["cpq", "crm"]
        os.kill(children["cpq"], signal.SIGKILL)
        assert proc.wait(timeout=20) == 1
        err = proc.stderr.read() if proc.stderr else ""
        assert err.count("\n") == 1, err
        assert err.startswith(f"golive: cpq (http://127.0.0.1:{base + 1}) exited with code -9")
        assert str(logs / "cpq.log") in err
        with pytest.raises(httpx.TransportError):  # the other one was stopped too
            httpx.get(f"http://127.0.0.1:{base}/_sim/health", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.live
def test_up_off_loopback_starts_and_prints_the_admin_token(tmp_path):
    base = free_base_port(1)
    env = {k: v for k, v in os.environ.items() if k != "GOLIVE_SIM_ADMIN_TOKEN"}
    env["COLUMNS"] = "300"
    proc = subprocess.Popen(
        [*GOLIVE, "up", "--only", "crm", "--host", "0.0.0.0", "--base-port", str(base),
         "--log-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        out = _wait_for_line(proc, "Press Ctrl-C", timeout_s=15)
        token = out.split("(X-Sim-Admin-Token): ", 1)[1].split()[0]
        url = f"http://127.0.0.1:{base}/_sim/health"
        assert httpx.get(url).status_code == 403
        assert httpx.get(url, headers={"X-Sim-Admin-Token": token}).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_up_refuses_an_unknown_limits_profile_in_one_line():
    result = subprocess.run([*GOLIVE, "up", "--limits", "fast"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "golive: --limits must be vendor or off, not 'fast'"
    ]


@pytest.mark.live
def test_up_with_vendor_limits_throttles_each_child_and_says_so(tmp_path):
    base = free_base_port()
    (tmp_path / "golive.toml").write_text("[limits.erp]\nconcurrency = 3\n", encoding="utf-8")
    proc = subprocess.Popen(
        [*GOLIVE, "up", "--only", "crm,erp", "--base-port", str(base), "--limits", "vendor"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    try:
        out = _wait_for_line(proc, "Press Ctrl-C")
        assert "throttled: crm 100/s per client (burst 100), 25 in flight, 100,000/24 h" in out
        crm = httpx.get(f"http://127.0.0.1:{base}/_sim/limits").json()["limits"]
        erp = httpx.get(f"http://127.0.0.1:{base + 4}/_sim/limits").json()["limits"]
        assert crm["daily_quota"] == 100_000
        assert erp["concurrency"] == 3  # the file's field over the vendor profile
        assert erp["rate_per_s"] == 10.0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
