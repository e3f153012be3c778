"""``golive fault add|list|clear`` end to end, against a real ERP simulator on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from golive.cli import exit_status as _run
from simulators.testing import free_base_port

ADMIN = "fault-test-admin-token"


@pytest.fixture(scope="module")
def estate() -> Iterator[Any]:
    from simulators.estate import running_estate

    with running_estate(["erp"], base_port=free_base_port(), admin_token=ADMIN) as running:
        yield running


@pytest.fixture
def erp(estate: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> list[str]:
    """The ERP emptied, the admin token in the environment; gives ``--base-port P``."""
    monkeypatch.setenv("GOLIVE_SIM_ADMIN_TOKEN", ADMIN)
    monkeypatch.chdir(tmp_path)  # no golive.toml of the checkout's
    estate.reset()
    estate.token("erp")  # before any rule: an outage answers the token endpoint too
    port = int(httpx.URL(estate.urls["erp"]).port or 0) - 4
    return ["--base-port", str(port)]


def _rules(estate: Any) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = httpx.get(
        f"{estate.urls['erp']}/_sim/faults", headers=estate.admin_headers
    ).json()["data"]
    return rules


def test_add_an_outage_for_30_minutes_then_the_erp_answers_503(
    estate: Any, erp: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["fault", "add", "outage", "--system", "erp", "--for", "30m", *erp]) == 0
    out = capsys.readouterr().out
    [rule] = _rules(estate)
    assert rule["id"] in out
    assert rule["kind"] == "outage"
    with estate.client("erp") as client:
        response = client.get("/customers")
    assert response.status_code == 503
    assert 1790 <= int(response.headers["retry-after"]) <= 1800


def test_add_presets_become_the_params_of_their_kind(estate: Any, erp: list[str]) -> None:
    assert _run(["fault", "add", "latency", "--system", "erp", "--p50", "200ms",
                 "--p99", "2s", *erp]) == 0  # fmt: skip
    error_argv = ["--status", "500", "--code", "boom", "--probability", "0.2",
                  "--path", "/sales-orders/*", "--seed", "5"]  # fmt: skip
    assert _run(["fault", "add", "error", "--system", "erp", *error_argv, *erp]) == 0
    latency, error = _rules(estate)
    assert latency["params"] == {"p50_ms": 200.0, "p99_ms": 2000.0}
    assert error["params"] == {"status": 500, "code": "boom"}
    assert (error["probability"], error["match"], error["seed"]) == (
        0.2, {"path": "/sales-orders/*"}, 5
    )  # fmt: skip
    assert _run(["fault", "add", "delay", "--system", "erp", "--delay", "10m", *erp]) == 0
    assert _run(["fault", "add", "webhook_down", "--system", "erp", "--for", "2h", *erp]) == 0
    delay, down = _rules(estate)[2:]
    assert delay["params"] == {"delay_s": 600.0}
    assert down["kind"] == "webhook_down"


def test_list_shows_every_rule_with_how_often_it_fired(
    estate: Any, erp: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _run(["fault", "add", "error", "--system", "erp", "--count", "3", *erp])
    with estate.client("erp") as client:
        client.get("/customers")
    capsys.readouterr()
    assert _run(["fault", "list", "--system", "erp", *erp]) == 0
    out = capsys.readouterr().out
    assert "flt_000001" in out
    assert "1/3" in out


def test_clear_one_rule_by_id_or_all_of_them(estate: Any, erp: list[str]) -> None:
    for _ in range(3):
        _run(["fault", "add", "drop", "--system", "erp", "--method", "DELETE", *erp])
    assert _run(["fault", "clear", "--system", "erp", "--id", "flt_000002", *erp]) == 0
    assert [r["id"] for r in _rules(estate)] == ["flt_000001", "flt_000003"]
    assert _run(["fault", "clear", "--system", "erp", *erp]) == 0
    assert _rules(estate) == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["add", "tornado", "--system", "erp"], "unknown fault kind 'tornado'"),
        (["add", "outage", "--system", "erp", "--for", "soon"], "--for: 'soon' is not a duration"),
        (["add", "latency", "--system", "erp", "--p50", "200"], "--p50: '200' is not a duration"),
        (["add", "outage", "--system", "erp", "--status", "500"], "--status applies to kind error"),
        (["add", "outage", "--system", "mainframe"], "unknown system 'mainframe'"),
        (["add", "duplicate", "--system", "erp", "--delay", "1m"], "--delay applies to kind delay"),
        (["add", "latency", "--system", "erp"], "latency takes one shape"),
        (["clear", "--system", "erp", "--id", "flt_999999"], "no fault rule 'flt_999999'"),
        (["clear", "--id", "flt_000001"], "--id needs --system"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    estate: Any, erp: list[str], capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    code = _run(["fault", *argv, *erp])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert words in err


def test_without_the_admin_token_the_simulator_refuses_in_one_line(
    estate: Any, erp: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOLIVE_SIM_ADMIN_TOKEN")
    assert _run(["fault", "list", "--system", "erp", *erp]) == 2
    err = capsys.readouterr().err.strip()
    assert "HTTP 403" in err
    assert len(err.splitlines()) == 1


def test_the_installed_command_adds_a_rule(estate: Any, erp: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "golive", "fault", "add", "lost_response", "--system", "erp",
         "--mode", "timeout", "--method", "POST", *erp],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [rule] = _rules(estate)
    assert rule["params"] == {"mode": "timeout"}
    assert rule["match"] == {"method": "POST"}


def test_list_and_clear_without_a_system_skip_the_simulators_not_running(
    estate: Any, erp: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _run(["fault", "add", "error", "--system", "erp", *erp])
    capsys.readouterr()
    assert _run(["fault", "list", *erp]) == 0
    captured = capsys.readouterr()
    assert "flt_000001" in captured.out
    assert "not running: crm, cpq, billing, support" in captured.err
    assert _run(["fault", "clear", *erp]) == 0
    assert "removed 1 fault rule" in capsys.readouterr().out
    assert _rules(estate) == []


def test_with_nothing_running_list_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run(["fault", "list", "--base-port", str(free_base_port())]) == 2
    err = capsys.readouterr().err.strip()
    assert "is `golive up` running?" in err
    assert len(err.splitlines()) == 1
