"""``golive contracts verify --broker-url``: the Pact verifier's own broker support.

No Pact Broker runs in CI: ``pact_broker.BrokerStandIn`` serves the broker's
documented HAL endpoints the verifier calls, and records what it was asked and
what was published to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from golive.cli import exit_status
from simulators.estate import running_estate
from simulators.testing import free_base_port
from tests._serve import serving
from tests.contracts._pacts import CONSUMER, write_crm_pacts
from tests.contracts.pact_broker import BrokerPact, BrokerStandIn


@pytest.fixture(autouse=True)
def _no_broker_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PACT_BROKER_BASE_URL",
        "PACT_BROKER_TOKEN",
        "PACT_BROKER_USERNAME",
        "PACT_BROKER_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def crm_port() -> Iterator[int]:
    base = free_base_port()
    with running_estate(["crm"], base_port=base):
        yield base


@pytest.fixture(scope="module")
def contents(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pact the CRM honours, and one that expects a field it does not have."""
    good = json.loads(write_crm_pacts(tmp_path_factory.mktemp("pacts")).read_text())
    broken = json.loads(json.dumps(good).replace('"currency"', '"billing_currency"'))
    broken["consumer"]["name"] = "new-middleware"
    return good, broken


def _run(
    broker: BrokerStandIn, port: int, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, str, str]:
    with serving(broker.app()) as url:
        argv = [
            "contracts",
            "verify",
            "--provider",
            "crm",
            "--broker-url",
            url,
            "--base-port",
            str(port),
            *options,
        ]
        code = exit_status(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_pacts_selected_from_the_broker_verify_and_results_are_published(
    crm_port: int, contents: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good, broken = contents
    broker = BrokerStandIn(
        [
            BrokerPact(CONSUMER, "crm", "1.0.0", good),
            BrokerPact("new-middleware", "crm", "0.1.0", broken, branch="feat"),
        ]
    )
    code, out, err = _run(
        broker,
        crm_port,
        capsys,
        "--consumer-version-selector",
        '{"mainBranch": true}',
        "--provider-branch",
        "main",
        "--publish",
        "--provider-version",
        "1.2.3",
    )
    assert code == 0, out + err
    asked = broker.selections[-1]
    assert asked["consumerVersionSelectors"] == [{"mainBranch": True}]
    assert asked["providerVersionBranch"] == "main"
    assert "new-middleware" not in out  # its branch was not selected
    assert f"PASS  {CONSUMER}: a request for an account" in out
    assert [
        (p["consumer"], p["success"], p["providerApplicationVersion"]) for p in broker.published
    ] == [(CONSUMER, True, "1.2.3")]
    assert broker.branch_versions == [("crm", "main", "1.2.3")]


def test_a_publication_the_broker_refuses_is_a_warning(
    crm_port: int, contents: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good, _ = contents
    broker = BrokerStandIn([BrokerPact(CONSUMER, "crm", "1.0.0", good)], refuse_results=True)
    code, out, err = _run(broker, crm_port, capsys, "--publish", "--provider-version", "1.2.5")
    assert code == 0, out + err  # the pacts passed; the broker's trouble is its own
    assert broker.published == []
    assert "warning: crm: Publishing of verification results failed" in err
    assert "providerApplicationVersion: refused" in err


def test_a_pending_pacts_failure_does_not_fail_the_run(
    crm_port: int, contents: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good, broken = contents
    pacts = [
        BrokerPact(CONSUMER, "crm", "1.0.0", good),
        BrokerPact("new-middleware", "crm", "0.1.0", broken, branch="feat", pending=True),
    ]
    selectors = [
        "--consumer-version-selector",
        '{"mainBranch": true}',
        "--consumer-version-selector",
        '{"branch": "feat"}',
    ]
    broker = BrokerStandIn(list(pacts))
    code, out, err = _run(
        broker,
        crm_port,
        capsys,
        *selectors,
        "--enable-pending",
        "--publish",
        "--provider-version",
        "1.2.4",
    )
    assert code == 0, out + err
    assert broker.selections[-1]["includePendingStatus"] is True
    assert "PENDING-FAIL new-middleware: a request for an account" in out
    assert "body $.billing_currency: expected the field, the response has none" in out
    published = {p["consumer"]: p["success"] for p in broker.published}
    assert published == {CONSUMER: True, "new-middleware": False}
    # Without --enable-pending the same failure fails the run.
    code, out, err = _run(BrokerStandIn(list(pacts)), crm_port, capsys, *selectors)
    assert code == 1
    assert "FAIL  new-middleware: a request for an account" in out


def test_wip_pacts_are_verified_since_a_date_and_do_not_fail_the_run(
    crm_port: int, contents: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good, broken = contents
    pacts = [
        BrokerPact(CONSUMER, "crm", "1.0.0", good),
        BrokerPact("new-middleware", "crm", "0.2.0", broken, branch="wip", wip=True),
    ]
    broker = BrokerStandIn(list(pacts))
    code, out, err = _run(
        broker,
        crm_port,
        capsys,
        "--consumer-version-selector",
        '{"mainBranch": true}',
        "--include-wip-since",
        "2026-11-01",
        "--enable-pending",
    )
    assert code == 0, out + err
    assert broker.selections[-1]["includeWipPactsSince"] == "2026-11-01"
    assert "PENDING-FAIL new-middleware: a request for an account" in out
    code, out, _ = _run(
        BrokerStandIn(list(pacts)),
        crm_port,
        capsys,
        "--consumer-version-selector",
        '{"mainBranch": true}',
    )
    assert code == 0
    assert "new-middleware" not in out


def test_an_unreachable_broker_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = exit_status(
        ["contracts", "verify", "--provider", "crm", "--broker-url", "http://127.0.0.1:9"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "golive: --broker-url http://127.0.0.1:9: unreachable (ConnectError)"


def test_a_pact_that_cannot_be_loaded_fails_the_run(
    crm_port: int, contents: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good, _ = contents
    broker = BrokerStandIn([BrokerPact(CONSUMER, "crm", "1.0.0", good),
                            BrokerPact("gone-middleware", "crm", "0.1.0", good)])  # fmt: skip
    broker.missing.add("gone-middleware")  # listed for verification, but its pact is 404
    code, out, err = _run(broker, crm_port, capsys)
    assert code == 1
    assert f"PASS  {CONSUMER}: a request for an account" in out
    assert "error: Failed to load pact" in out
    assert err.strip().startswith("golive: Failed to load pact")
