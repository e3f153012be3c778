"""``golive contracts verify`` on the command line: output, JUnit, JSON, exit codes, staging.

Uses the pacts of ``_pacts.py`` and the variants of ``_variants.py``; see
test_verify.py for the library and docs/contracts.md for the behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from golive.cli import exit_status
from simulators.estate import running_estate
from simulators.registry import create_app
from simulators.testing import free_base_port
from tests._serve import serving
from tests.contracts._pacts import CONSUMER, write_crm_pacts
from tests.contracts._variants import renaming


@pytest.fixture(scope="module")
def pacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pacts")
    write_crm_pacts(folder)
    return folder


@pytest.fixture(scope="module")
def crm_url() -> Iterator[str]:
    with running_estate(["crm"]) as estate:
        yield estate.url("crm")


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = exit_status(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_starts_the_simulators_writes_junit_and_exits_0(
    pacts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "pacts.xml"
    argv = [
        "contracts",
        "verify",
        "--pacts",
        str(pacts),
        "--base-port",
        str(free_base_port()),
        "--junit",
        str(junit),
    ]
    code, out, err = _cli(argv, capsys)
    assert code == 0, out + err
    assert out.rstrip().endswith("2 interaction(s) verified")
    assert "started crm at" in err
    assert f"PASS  {CONSUMER}: a request for an account (given an account exists)" in out
    assert "Verifying a pact between" not in out  # the verifier's own report is held back
    xml = junit.read_text()
    assert xml.count("<testcase ") == 2
    assert "<failure" not in xml


def test_the_cli_reports_a_failure_in_plain_words_and_exits_1(
    pacts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = free_base_port()
    app = renaming(create_app("crm"), "/accounts", "currency", "ccy")
    junit, report = tmp_path / "pacts.xml", tmp_path / "pacts.json"
    with serving(app, port=base):  # crm answers at the base port: the CLI attaches to it
        argv = [
            "contracts",
            "verify",
            "--pacts",
            str(pacts),
            "--base-port",
            str(base),
            "--json",
            str(report),
            "--junit",
            str(junit),
        ]
        code, out, err = _cli(argv, capsys)
    assert code == 1
    assert err.strip() == "golive: 1 of 2 interaction(s) failed"
    assert (
        "a request for an account: body $.currency: expected the field, the response has none"
    ) in out
    xml = junit.read_text()
    assert xml.count("<failure") == 1
    assert "body $.currency" in xml
    [crm] = json.loads(report.read_text())
    assert crm["ok"] is False
    assert [(i["description"], i["result"]) for i in crm["interactions"]] == [
        ("a request for an account", "failed"),
        ("an account.created event", "passed"),
    ]


def test_staging_takes_its_states_from_the_state_change_url(
    crm_url: str, pacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    calls: list[dict[str, Any]] = []

    async def state_change(request: Request) -> Response:
        body = await request.json()
        calls.append(body)
        if body.get("action") == "teardown":
            return Response("{}", media_type="application/json")
        answer = httpx.post(f"{crm_url}/_sim/provider-states", json=body, timeout=10)
        return Response(answer.content, answer.status_code, media_type="application/json")

    team = Starlette(routes=[Route("/pact/states", state_change, methods=["POST"])])
    with serving(team) as team_url:
        argv = [
            "contracts",
            "verify",
            "--pacts",
            str(pacts),
            "--provider",
            "crm",
            "--base-url",
            crm_url,
            "--state-change-url",
            f"{team_url}/pact/states",
        ]
        code, out, err = _cli(argv, capsys)
    assert code == 0, out + err
    setups = [c for c in calls if c["action"] == "setup"]
    assert {
        "state": "an account exists",
        "action": "setup",
        "params": {"id": "acc_pact_1", "name": "Acme Pact"},
    } in setups
    assert len([c for c in calls if c["action"] == "teardown"]) == len(setups) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pacts", "/nonexistent/pacts"], "--pacts /nonexistent/pacts: no such folder"),
        (["--provider", "erp"], "--provider 'erp': no pact in"),
        (["--provider", "crm", "--base-url", "http://127.0.0.1:9"], "unreachable"),
        (["--publish", "--provider-version", "1"], "--publish publishes to a broker"),
        (["--enable-pending"], "choose pacts from a broker: give --broker-url"),
        (
            [
                "--provider",
                "crm",
                "--broker-url",
                "http://127.0.0.1:9",
                "--consumer-version-selector",
                '{"nope": 1}',
            ],
            "unknown selector key(s) ['nope']",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    pacts: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if "--pacts" not in argv and "--broker-url" not in argv:
        argv = ["--pacts", str(pacts), *argv]
    code, _out, err = _cli(["contracts", "verify", *argv], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_guarded_control_plane_needs_the_admin_token(
    pacts: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = free_base_port()
    monkeypatch.delenv("GOLIVE_SIM_ADMIN_TOKEN", raising=False)
    with running_estate(["crm"], base_port=base, admin_token="s3cret"):
        argv = ["contracts", "verify", "--pacts", str(pacts), "--base-port", str(base)]
        code, _, err = _cli(argv, capsys)
        assert code == 2
        assert err.startswith("golive: crm: cannot empty the simulator: POST ")
        assert len(err.strip().splitlines()) == 1
        monkeypatch.setenv("GOLIVE_SIM_ADMIN_TOKEN", "s3cret")
        code, out, err = _cli(argv, capsys)
        assert code == 0, out + err


def test_staging_without_a_state_change_url_sets_no_states(
    crm_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_crm_pacts(tmp_path, account_id="acc_nobody_made")
    argv = ["contracts", "verify", "--pacts", str(tmp_path), "--provider", "crm",
            "--base-url", crm_url]  # fmt: skip
    code, out, err = _cli(argv, capsys)
    assert code == 1
    assert "no --state-change-url: the pacts' provider states are not set up" in err
    assert "a request for an account: status: expected 200, actual 404" in out
