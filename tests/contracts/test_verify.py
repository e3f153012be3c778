"""``golive contracts verify`` against the CRM simulator, and against variants of it that break.

The pacts are written here with pact-python 4's consumer API (``_pacts.py``); the
variants wrap the real simulator app and rename a field in its JSON answers, so
the failures are the verifier's own, on real responses and real events.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts._pact_sim import fetch_token
from contracts.verify import ProviderReport, ProviderRun, read_pacts, verify_provider
from golive.cli import main
from simulators.estate import running_estate
from simulators.registry import create_app
from simulators.testing import free_base_port
from tests.contracts._pacts import CONSUMER, write_crm_pacts
from tests.contracts._serve import serving

ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {(new if k == old else k): _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return value


def renaming(app: ASGI, prefix: str, old: str, new: str) -> ASGI:
    """The app, with field ``old`` renamed ``new`` in the JSON it answers under ``prefix``."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(prefix):
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            with contextlib.suppress(ValueError):
                body = json.dumps(_renamed(json.loads(body), old, new)).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return wrapped


@pytest.fixture(scope="module")
def pacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pacts")
    write_crm_pacts(folder)
    return folder


@pytest.fixture(scope="module")
def crm_url() -> Iterator[str]:
    with running_estate(["crm"]) as estate:
        yield estate.url("crm")


def _verify(url: str, pacts: Path, **kw: Any) -> ProviderReport:
    found = read_pacts(pacts)
    run = ProviderRun(
        "crm",
        url,
        simulator=True,
        token=fetch_token(url, "golive", "golive-secret"),
        pacts=found.by_provider["crm"],
        message_kinds=found.message_kinds,
        **kw,
    )
    return verify_provider(run)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_good_pact_passes_against_the_simulator(crm_url: str, pacts: Path) -> None:
    report = _verify(crm_url, pacts)
    assert report.ok, report.output
    assert {(i.description, i.ok) for i in report.interactions} == {
        ("a request for an account", True),
        ("an account.created event", True),
    }
    assert all(i.consumer == CONSUMER for i in report.interactions)
    # Each interaction's teardown emptied the simulator: nothing is left behind.
    with httpx.Client(base_url=crm_url, timeout=10) as client:
        assert client.get("/_sim/export").json().get("account", []) == []


def test_a_renamed_response_field_fails_naming_the_field(pacts: Path) -> None:
    app = renaming(create_app("crm"), "/accounts", "name", "display_name")
    with serving(app) as url:
        report = _verify(url, pacts)
    assert not report.ok
    by = {i.description: i for i in report.interactions}
    assert by["an account.created event"].ok  # events untouched
    failed = by["a request for an account"]
    assert not failed.ok
    assert failed.problems == ["body $.name: expected the field, the response has none"]


def test_a_changed_event_payload_fails_the_message_pact(pacts: Path) -> None:
    app = renaming(create_app("crm"), "/events", "segment", "tier")
    with serving(app) as url:
        report = _verify(url, pacts)
    by = {i.description: i for i in report.interactions}
    assert by["a request for an account"].ok
    failed = by["an account.created event"]
    assert not failed.ok
    assert failed.problems == ["body $.data.segment: expected the field, the response has none"]


def test_a_state_the_simulator_refuses_says_why(crm_url: str, tmp_path: Path) -> None:
    write_crm_pacts(tmp_path, account_id="not an id!")
    report = _verify(crm_url, tmp_path)
    failed = next(i for i in report.interactions if i.description == "a request for an account")
    assert not failed.ok
    assert failed.problems[0].startswith("provider state 'an account exists': 422 ")
    assert "params.id" in failed.problems[0]


def test_ids_the_state_made_reach_the_request_and_a_consumer_token_is_replaced(
    crm_url: str, tmp_path: Path
) -> None:
    from pact import Pact, generate, match

    pact = Pact(CONSUMER, "crm")
    (
        pact.upon_receiving("a request for the account the state made")
        .given("an account exists", name="Made By State")
        .with_request(
            "GET", match.str(generator=generate.provider_state("/accounts/${account_id}"))
        )
        .with_header("Authorization", "Bearer the-consumer-test-token")
        .will_respond_with(200)
        .with_body(
            {
                "id": match.str(generator=generate.provider_state("${account_id}")),
                "name": "Made By State",
            },
            content_type="application/json",
        )
    )
    pact.write_file(tmp_path)
    report = _verify(crm_url, tmp_path)
    assert report.ok, report.output
    assert [i.description for i in report.interactions] == [
        "a request for the account the state made"
    ]


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


# One existing provider state per system and an event it makes the simulator emit.
EMITTED = {
    "crm": ("an opportunity in negotiation exists", "opportunity.stage_changed"),
    "cpq": ("an approved quote exists", "quote.approved"),
    "billing": ("an active subscription exists", "subscription.created"),
    "support": ("an open case exists", "case.created"),
    "erp": ("a booked sales order exists", "order.booked"),
}


@pytest.mark.slow
def test_message_pacts_of_every_system_verify_from_its_real_events(tmp_path: Path) -> None:
    from pact import Pact, match

    cases = {s: [c] for s, c in EMITTED.items()}
    cases["billing"].append(("an active subscription exists", "subscription.activated"))
    for system, pairs in cases.items():
        pact = Pact(CONSUMER, system)
        for state, event_type in pairs:
            (
                pact.upon_receiving(f"a {event_type} event", "Async")
                .given(state)
                .with_body(
                    {"type": event_type, "system": system, "data": {"id": match.str("x")}},
                    content_type="application/json",
                )
                .with_metadata({"system": system, "event_type": event_type})
            )
        pact.write_file(tmp_path)
    found = read_pacts(tmp_path)
    results = {}
    with running_estate(list(EMITTED)) as estate:
        for system in EMITTED:
            url = estate.url(system)
            token = fetch_token(url, "golive", "golive-secret")
            run = ProviderRun(
                system,
                url,
                simulator=True,
                token=token,
                pacts=found.by_provider[system],
                message_kinds=found.message_kinds,
            )
            for i in verify_provider(run).interactions:
                results[i.description] = i
    assert {d for d, i in results.items() if i.ok} == {f"a {e} event" for _, e in EMITTED.values()}
    # A state that does not emit the event the pact names fails with one line saying so.
    assert results["a subscription.activated event"].problems == [
        "billing emitted no subscription.activated event after the provider state(s) "
        "['an active subscription exists']: the states do not make it happen"
    ]
