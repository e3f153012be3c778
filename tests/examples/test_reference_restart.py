"""The reference middleware killed mid-run, as a real process, and started again on the same
SQLite state and port: the estate still reconciles (README, "Reconciliation").

Three deals are in the middle of their flows when the process gets SIGKILL: the ERP has
committed each sales order but holds the answer back (a ``latency`` fault), so every
job dies between "the order exists" and "the middleware knows it". Two more deals close
while the middleware is down: their deliveries fail and wait for the simulators' retry.
The restarted process takes the three jobs back from its store, finds the orders by
external id instead of making them again, and gets the two late deals when the clock
reaches the retry.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.run import bind, register_webhooks, sut_env
from golive.drain import wait_drained
from golive.pytest_plugin import EstateClock, EstateFaults, EstateReconcile
from simulators.estate import Estate
from tests.examples.deals import call, close_deal, listing, wait_for

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)


class _Process:
    """``python -m examples.reference_middleware`` on a fixed port and state folder."""

    def __init__(self, env: dict[str, str], port: int, state: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "examples.reference_middleware", "--port", str(port),
                 "--state-dir", str(state)],
                env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the middleware did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.url}/status", timeout=5).json()
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def middleware(golive: Estate, secret: str, tmp_path: Path) -> Iterator[Callable[[], _Process]]:
    """``middleware()`` starts the reference middleware process, always on the same port and
    state folder (its webhooks registered once); every process started is killed after."""
    sock = bind(0)  # a free port, let go so the process can take it
    port = int(sock.getsockname()[1])
    sock.close()
    started: list[_Process] = []

    def start() -> _Process:
        process = _Process(sut_env(golive.urls, secret), port, tmp_path / "state",
                           tmp_path / "middleware.log")  # fmt: skip
        if not started:  # the same URL after a restart: registering again would drop the
            register_webhooks(golive.urls, process.url, secret)  # retries queued for it
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def _account(estate: Estate, name: str) -> dict[str, Any]:
    with estate.client("crm") as crm:
        return dict(call(crm, "POST", "/accounts", json={
            "name": name, "country": "US", "currency": "USD", "segment": "mid_market",
            "website": f"https://{name.lower()}.example.com"}))  # fmt: skip


def test_a_reference_middleware_killed_mid_run_and_restarted_still_reconciles(
    golive: Estate, book: str, middleware: Callable[[], _Process], golive_clock: EstateClock,
    golive_faults: EstateFaults, golive_reconcile: EstateReconcile,
) -> None:  # fmt: skip
    golive_clock.freeze(T0)
    first = middleware()
    golive_faults.add("erp", "latency", method="POST", path="/sales-orders",
                      params={"fixed_ms": 8000})  # fmt: skip
    for name in ("Acme", "Globex", "Initech"):
        close_deal(golive, book, account=_account(golive, name))
    wait_for(lambda: len(listing(golive, "erp", "/sales-orders")) == 3, timeout_s=20,
             what="three orders committed, their answers held back")  # fmt: skip
    assert first.status()["queue_depth"] == 3  # every job is in the middle of its flow
    first.kill()
    golive_faults.clear("erp")
    for name in ("Umbrella", "Hooli"):  # delivered to nobody: the simulator will retry
        close_deal(golive, book, account=_account(golive, name))
    second = middleware()  # the same port and SQLite state
    golive_clock.advance(seconds=60)  # the simulators' first retry is due after 5 s
    drained = wait_drained(golive, second, limit_s=30)
    assert drained.settled, drained.left

    verdict = golive_reconcile()  # raises, naming every violation, if any
    for invariant in ("order_per_deal", "subscription_per_deal", "entitlement_per_deal"):
        assert verdict.result(invariant).checked == 5
    assert not [r.name for r in verdict.results if r.pending]  # nothing merely awaited
    assert len(listing(golive, "erp", "/sales-orders")) == 5  # none made twice
    status = second.status()
    assert (status["done"], status["dlq"], status["queue_depth"]) == (5, 0, 0)
