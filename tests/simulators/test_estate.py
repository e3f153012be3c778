"""The estate: the pytest plugin's fixtures as a team's suite uses them, and processes mode."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from simulators.estate import EstateError, running_estate, start_estate
from simulators.testing import free_base_port


def test_estate_fixture_serves_all_five_systems_on_loopback(golive):
    assert sorted(golive.urls) == ["billing", "cpq", "crm", "erp", "support"]
    assert all(url.startswith("http://127.0.0.1:") for url in golive.urls.values())


def test_client_fixture_is_signed_in_and_creates_objects(golive_client):
    crm = golive_client("crm")
    response = crm.post("/accounts", json={"name": "Acme"}, headers={"X-Correlation-Id": "t-1"})
    assert response.status_code == 201
    assert response.headers["x-correlation-id"] == "t-1"
    assert crm.get("/accounts").json()["data"][0]["name"] == "Acme"


@pytest.fixture
def left_over_account(golive_estate):
    """An account left behind by "an earlier test", whatever order the tests run in."""
    with golive_estate.client("crm") as crm:
        assert crm.post("/accounts", json={"name": "Left over"}).status_code == 201


def test_each_test_starts_from_an_empty_estate(left_over_account, golive_client):
    # Fixtures of one scope are set up in argument order: the account exists before
    # the golive fixture resets the estate for this test.
    assert golive_client("crm").get("/accounts").json()["data"] == []


def test_clock_fixture_freezes_and_advances_every_simulator(golive, golive_clock):
    import httpx

    golive_clock.freeze("2027-01-01T00:00:00Z")
    result = golive_clock.advance(days=31)  # the estate clock's stepped advance
    assert result.ok
    assert result.steps >= 1
    assert result.runs["erp"] == {"period_close": 1}  # nothing posted: no period to close
    for url in golive.urls.values():
        clock = httpx.get(f"{url}/_sim/clock").json()
        assert (clock["now"], clock["frozen"]) == ("2027-02-01T00:00:00.000000Z", True)


def _tiny_middleware(crm, erp) -> None:
    """Stands in for a team's middleware: closed-won deals become ERP orders."""
    customer = erp.post("/customers", json={"name": "Acme", "external_id": "acc"}).json()
    erp.post("/items", json={"sku": "SEAT", "name": "Seat"})
    events = crm.get("/events", params={"type": "opportunity.closed_won"}).json()["data"]
    for event in events:
        opp = event["data"]
        line = {"sku": "SEAT", "quantity": 1, "unit_price_minor": opp["amount_minor"]}
        erp.post(
            "/sales-orders",
            json={"customer_id": customer["id"], "currency": opp["currency"],
                  "external_id": opp["id"], "lines": [line]},
            headers={"X-Correlation-Id": event["correlation_id"] or ""},
        )  # fmt: skip


def test_readme_example_a_closed_won_deal_becomes_one_erp_order(golive_client, golive_clock):
    crm, erp = golive_client("crm"), golive_client("erp")
    account = crm.post("/accounts", json={"name": "Acme"}).json()
    opp = crm.post(
        "/opportunities",
        json={"account_id": account["id"], "name": "Deal", "amount_minor": 1_200_000},
    ).json()
    crm.patch(
        f"/opportunities/{opp['id']}",
        json={"stage": "closed_won", "primary_quote_id": "q_1"},
        headers={"X-Correlation-Id": "deal-1"},
    )
    golive_clock.advance(hours=1)
    _tiny_middleware(crm, erp)
    orders = erp.get("/sales-orders", params={"external_id": opp["id"]}).json()["data"]
    assert len(orders) == 1
    assert orders[0]["total_minor"] == 1_200_000
    assert orders[0]["correlation_id"] == "deal-1"


# --- processes mode, as ``golive up`` runs it -------------------------------------------

# The first bytes of a TLS ClientHello: what a client set to https sends to a plain port.
_CLIENT_HELLO = bytes.fromhex("160301020001000" + "1fc0303") + bytes(range(32)) * 6


@pytest.fixture
def crm_process(tmp_path):
    estate = start_estate(
        ["crm"], base_port=free_base_port(1), mode="processes", log_dir=tmp_path / "logs"
    )
    try:
        yield estate
    finally:
        estate.stop()


def _send_garbage(url: str, times: int) -> None:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    for _ in range(times):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(_CLIENT_HELLO)
            with contextlib.suppress(ConnectionResetError):  # a timeout is a frozen child
                while sock.recv(4096):
                    pass


@pytest.mark.live
def test_a_child_flooded_with_non_http_bytes_keeps_answering(crm_process):
    url = crm_process.url("crm")
    _send_garbage(url, 2500)  # each one logs a warning line in the child
    assert httpx.get(f"{url}/_sim/health", timeout=5).status_code == 200
    log = crm_process.log_files["crm"]
    assert log.parent.name == "logs"
    assert log.read_text().count("Invalid HTTP request") >= 2000
    crm_process.check()  # nothing to report


@pytest.mark.live
def test_the_estate_names_a_child_that_died_and_its_log(crm_process):
    crm_process.processes["crm"].kill()
    crm_process.processes["crm"].wait()
    with pytest.raises(EstateError) as raised:
        crm_process.check()
    message = str(raised.value)
    assert message.startswith("crm (http://127.0.0.1:")
    assert "exited" in message
    assert str(crm_process.log_files["crm"]) in message
    assert "\n" not in message


@pytest.mark.live
def test_the_estate_names_a_child_that_stopped_answering(crm_process):
    crm_process.health_grace_s = 1.0
    proc = crm_process.processes["crm"]
    proc.send_signal(signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 15
        with pytest.raises(EstateError) as raised:  # noqa: PT012 - polls until it says so
            while time.monotonic() < deadline:
                crm_process.check()
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGCONT)
    message = str(raised.value)
    assert message.startswith("crm (http://127.0.0.1:")
    assert "stopped answering" in message
    assert str(crm_process.log_files["crm"]) in message


@pytest.mark.live
def test_the_children_sign_with_the_key_the_estate_gives_them(tmp_path, monkeypatch):
    from simulators.kit.auth import SIGNING_KEY_ENV, TokenIssuer

    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    base = free_base_port(2)
    with running_estate(
        ["crm", "cpq"], base_port=base, mode="processes", log_dir=tmp_path, signing_key="k1"
    ) as estate:
        for system in ("crm", "cpq"):
            minted = TokenIssuer(system, signing_key=b"k1").issue(
                "client_credentials", "golive", "golive-secret", time.time()
            )["access_token"]
            response = httpx.get(
                f"{estate.url(system)}/events", headers={"Authorization": f"Bearer {minted}"}
            )
            assert response.status_code == 200


# --- off loopback, the control plane always has an admin token ---------------------------


@pytest.mark.live
def test_threads_off_loopback_guard_the_control_plane_and_still_reset(monkeypatch):
    from golive.pytest_plugin import EstateClock
    from simulators.kit.auth import ADMIN_TOKEN_ENV

    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    with running_estate(["crm"], host="0.0.0.0") as estate:
        assert estate.admin_token
        url = estate.url("crm")
        assert httpx.get(f"{url}/_sim/health").status_code == 403
        token = {"X-Sim-Admin-Token": estate.admin_token}
        assert httpx.get(f"{url}/_sim/health", headers=token).status_code == 200
        estate.reset()
        estate.export()
        EstateClock(estate).freeze("2027-01-01T00:00:00Z")
        assert httpx.get(f"{url}/_sim/clock", headers=token).json()["frozen"] is True


@pytest.mark.live
def test_a_token_from_the_environment_is_used_on_loopback_too(tmp_path, monkeypatch):
    from simulators.kit.auth import ADMIN_TOKEN_ENV

    monkeypatch.setenv(ADMIN_TOKEN_ENV, "team-admin")
    base = free_base_port(1)
    with running_estate(["crm"], base_port=base, mode="processes", log_dir=tmp_path) as estate:
        assert estate.admin_token == "team-admin"
        assert httpx.get(f"{estate.url('crm')}/_sim/health").status_code == 403
        estate.reset()
        estate.check()


@pytest.mark.live
def test_serve_off_loopback_without_a_token_makes_one_and_prints_it(tmp_path, monkeypatch):
    import subprocess
    import sys

    from simulators.kit.auth import ADMIN_TOKEN_ENV

    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    port = free_base_port(1)
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.serve", "crm", "--host", "0.0.0.0", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and status is None:
            with contextlib.suppress(httpx.TransportError):
                status = httpx.get(f"http://127.0.0.1:{port}/_sim/health").status_code
            time.sleep(0.1)
        assert status == 403
        printed = (tmp_path / "serve.log").read_text()
        token = printed.split("X-Sim-Admin-Token: ", 1)[1].split()[0]
        ok = httpx.get(f"http://127.0.0.1:{port}/_sim/health", headers={"X-Sim-Admin-Token": token})
        assert ok.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.mark.live
def test_a_child_that_fails_at_start_is_named_with_its_last_log_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GOLIVE_LOG_LEVEL", "chatty")  # uvicorn knows no such level
    with pytest.raises(EstateError) as raised:
        start_estate(["crm"], base_port=free_base_port(1), mode="processes", log_dir=tmp_path)
    message = str(raised.value)
    assert message.startswith("crm (http://127.0.0.1:")
    assert "stopped at start: KeyError: 'chatty'" in message
    assert str(tmp_path / "crm.log") in message


def test_an_estate_on_an_ipv6_address_gives_usable_urls():
    with running_estate(["crm"], host="::1") as estate:
        assert estate.url("crm").startswith("http://[::1]:")
        with estate.client("crm") as crm:
            assert crm.get("/accounts").status_code == 200
        estate.check()


def test_clock_freeze_takes_a_datetime_and_iso_strings(golive, golive_clock, golive_client):
    from datetime import UTC, datetime

    crm = golive_client("crm")
    golive_clock.freeze(datetime(2031, 1, 1, tzinfo=UTC))
    assert crm.post("/accounts", json={"name": "A"}).json()["created_at"].startswith("2031-01-01")
    golive_clock.freeze(datetime(2031, 2, 1, 12))  # naive: UTC
    assert (
        crm.post("/accounts", json={"name": "B"})
        .json()["created_at"]
        .startswith("2031-02-01T12:00:00")
    )
    golive_clock.freeze("2031-03-01T00:00:00Z")
    assert crm.post("/accounts", json={"name": "C"}).json()["created_at"].startswith("2031-03-01")
    with pytest.raises(ValueError, match="not an ISO 8601 instant"):
        golive_clock.freeze("soon")


def test_a_system_the_estate_does_not_run_is_named_with_the_running_ones():
    from simulators.estate import Estate, UnknownSystem

    estate = Estate(urls={"crm": "http://127.0.0.1:1", "erp": "http://127.0.0.1:2"})
    with pytest.raises(UnknownSystem, match=r"'nope' is not a golive system.*runs: crm, erp"):
        estate.client("nope")
    with pytest.raises(UnknownSystem, match=r"'cpq' is not running.*runs: crm, erp"):
        estate.url("cpq")
    with pytest.raises(KeyError):  # still a KeyError for code that catches one
        estate.token("cpq")


_ESTATE_SCRIPT = """
import sys, time
from simulators.estate import start_estate
estate = start_estate(mode="processes", base_port=int(sys.argv[1]))
print(" ".join(str(p.pid) for p in estate.processes.values()), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"  # a zombie has died
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_simulators_die_with_an_estate_killed_by_sigkill():
    base = 9670
    proc = subprocess.Popen([sys.executable, "-c", _ESTATE_SCRIPT, str(base)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    pids: list[int] = []
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 5
        assert all(_alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in pids if _alive(p)], "simulators outlived their estate"
        for port in range(base, base + 5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))  # the port is free again
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
