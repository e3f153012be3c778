"""``golive contracts verify`` against the CRM simulator, and against variants of it that break.

The pacts are written with pact-python 4's consumer API (``_pacts.py``); the
variants (``_variants.py``) wrap the real simulator app and rename a field in its
JSON answers, so the failures are the verifier's own, on real responses and events.
The command line is in test_verify_cli.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts._pact_sim import fetch_token
from contracts.verify import ProviderReport, ProviderRun, read_pacts, verify_provider
from simulators.estate import running_estate
from simulators.registry import create_app
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
