"""The client's fault accounting, through real Locust against a stub server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from golive.loadslo import LoadSlos, evaluate

LOCUSTFILE = """
from locust import FastHttpUser, constant, task

from loadtests import results  # noqa: F401
from loadtests.auth import TokenCache
from loadtests.client import Api, CallFailed, fetch_token


class ProbeUser(FastHttpUser):
    wait_time = constant(0.05)
    probes = 0

    def on_start(self):
        tokens = TokenCache(lambda s: fetch_token(self.client, s, self.host, "golive", "s3"))
        self.api = Api(self.client, "crm", self.host, tokens)

    @task
    def probe(self):
        for method, path in (("GET", "/ok"), ("POST", "/outage"), ("GET", "/slow")):
            try:
                self.api.call(method, path, path, "corr-1", body={} if method == "POST" else None)
            except CallFailed:
                pass
        # A count of probes, not a run time, ends the run: a busy machine slows it down
        # but never leaves it without a single probe.
        ProbeUser.probes += 1
        if ProbeUser.probes >= 5:
            self.environment.runner.quit()
"""


class _Stub(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict[str, str]]] = []  # noqa: RUF012

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, headers: dict[str, str] | None = None) -> None:
        body = b'{"access_token": "t", "expires_in": 3600}' if status == 200 else b"{}"
        if status == 503:
            body = b'{"code": "outage"}'
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.do_GET()

    def do_GET(self) -> None:
        _Stub.seen.append((self.command, self.path, dict(self.headers)))
        if self.path == "/oauth/token":
            self._send(200)
        elif self.path == "/outage":
            self._send(503, {"X-Golive-Fault": "outage", "Retry-After": "0"})
        elif self.path == "/slow":
            self._send(200, {"X-Golive-Fault": "latency"})
        else:
            self._send(200)


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.load
def test_fault_marked_responses_are_recorded_apart_and_retried(stub, tmp_path: Path):
    (tmp_path / "probe.py").write_text(LOCUSTFILE)
    result = tmp_path / "result.json"
    env = {**os.environ, "GOLIVE_LOAD_RESULT": str(result)}
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(tmp_path / "probe.py"), "--headless",
         "--users", "1", "--spawn-rate", "1", "--run-time", "50s", "--host", stub,
         "--only-summary"],
        env=env, capture_output=True, text=True, timeout=90, cwd=tmp_path,
    )  # fmt: skip
    assert result.exists(), done.stderr
    entries = {(e["method"], e["name"]): e for e in json.loads(result.read_text())["entries"]}
    assert entries[("GET", "crm /ok")]["failures"] == 0
    assert ("POST", "crm /outage") not in entries
    outage = entries[("POST", "crm /outage [fault]")]
    assert outage["failures"] == outage["requests"] > 0
    assert entries[("GET", "crm /slow [fault]")]["failures"] == 0
    probes = entries[("GET", "crm /ok")]["requests"]
    assert probes == 5
    assert 3 * probes - 3 <= outage["requests"] <= 3 * probes  # a 503 is tried three times
    summary = evaluate(json.loads(result.read_text()), LoadSlos(error_rate=0.0))
    assert summary["passed"]
    slow = entries[("GET", "crm /slow [fault]")]["requests"]
    assert summary["faults"]["requests"] == outage["requests"] + slow
    calls = [(m, p, h) for m, p, h in _Stub.seen if p != "/oauth/token"]
    assert all(h["Authorization"] == "Bearer t" for _, _, h in calls)
    assert all(h["X-Correlation-Id"] == "corr-1" for _, _, h in calls)
    assert all("Idempotency-Key" not in h for m, _, h in calls if m == "GET")
    keys = [h["Idempotency-Key"] for m, _, h in calls if m == "POST"][:3]
    assert len(set(keys)) == 1  # retries reuse the write's key
