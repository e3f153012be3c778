"""The reference middleware's consumer pacts: written by running its own code, and committed.

The pacts are written once per session (``write_pacts``: every scenario against Pact
mock servers, every message through the webhook reader and its flow); the tests check
each scenario's outcome, the pacts' shape and that the committed copies in
``contracts/pacts/`` are what the middleware writes today (rewrite them with
``python -m tests.contracts.pact_consumer.write``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from examples.reference_middleware.flows import EVENTS
from lifecycle.systems import SYSTEMS
from tests.contracts.pact_consumer.examples import CONSUMER
from tests.contracts.pact_consumer.scenarios import SCENARIOS
from tests.contracts.pact_consumer.write import COMMITTED, write_pacts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("pacts")
    return folder, write_pacts(folder)


def _pact(folder: Path, provider: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / f"{CONSUMER}-{provider}.json").read_text())
    return data


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_flow_ends_as_the_scenario_expects(written: tuple[Path, dict[str, Any]],
                                               scenario: Any) -> None:  # fmt: skip
    assert scenario.wrong(written[1][scenario.name]) is None


def test_one_v4_pact_per_provider(written: tuple[Path, dict[str, Any]]) -> None:
    folder = written[0]
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(
        f"{CONSUMER}-{system}.json" for system in SYSTEMS
    )
    for system in SYSTEMS:
        pact = _pact(folder, system)
        assert pact["metadata"]["pactSpecification"]["version"] == "4.0"
        assert (pact["consumer"]["name"], pact["provider"]["name"]) == (CONSUMER, system)
        http = [i for i in pact["interactions"] if i["type"] == "Synchronous/HTTP"]
        assert any(i["request"]["path"] == "/oauth/token" for i in http), system


def test_every_consumed_event_type_has_a_message(written: tuple[Path, dict[str, Any]]) -> None:
    for system in SYSTEMS:
        messages = [i for i in _pact(written[0], system)["interactions"]
                    if i["type"] == "Asynchronous/Messages"]  # fmt: skip
        assert sorted(m["metadata"]["event_type"] for m in messages) == sorted(
            EVENTS.get(system, [])
        )
        for message in messages:
            assert message["metadata"]["system"] == system
            assert message["metadata"]["contentType"] == "application/json"
            assert message["providerStates"], message["description"]


def test_error_interactions_are_under_contract(written: tuple[Path, dict[str, Any]]) -> None:
    answers = {(system, i["response"]["status"], i["response"]["body"]["content"].get("code"))
               for system in SYSTEMS for i in _pact(written[0], system)["interactions"]
               if i["type"] == "Synchronous/HTTP" and i["response"]["status"] >= 400}  # fmt: skip
    assert answers == {
        ("erp", 409, "duplicate_external_id"),
        ("erp", 422, "credit_limit_exceeded"),
        ("cpq", 429, "rate_limit_exceeded"),
    }


def _contract(text: str) -> dict[str, Any]:
    """A pact without the Pact core's version stamp (an upgrade alone is no drift)."""
    pact: dict[str, Any] = json.loads(text)
    pact["metadata"].pop("pactRust", None)
    return pact


def test_the_committed_pacts_are_what_the_middleware_writes(
    written: tuple[Path, dict[str, Any]],
) -> None:
    rewrite = "rewrite them: python -m tests.contracts.pact_consumer.write"
    fresh = {p.name: p.read_text() for p in written[0].glob("*.json")}
    committed = {p.name: p.read_text() for p in COMMITTED.glob(f"{CONSUMER}-*.json")}
    assert sorted(committed) == sorted(fresh), rewrite
    for name, text in fresh.items():
        assert _contract(committed[name]) == _contract(text), f"contracts/pacts/{name}: {rewrite}"


def test_a_message_the_middleware_cannot_act_on_fails_the_consumer_test() -> None:
    from tests.contracts.pact_consumer.events import envelope, plain
    from tests.contracts.pact_consumer.messages import consume

    event = plain(envelope("crm", "opportunity.closed_won"))
    consume("crm", json.dumps(event), {"system": "crm", "event_type": "opportunity.closed_won"})
    del event["data"]["primary_quote_id"]
    with pytest.raises(Exception, match=r"primary_quote_id|Mismatch|flow failed"):
        consume("crm", json.dumps(event), {"system": "crm", "event_type": "opportunity.closed_won"})


def test_a_change_to_what_the_middleware_sends_fails_its_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from examples.reference_middleware import flows
    from tests.contracts.pact_consumer.scenarios import run_scenario

    monkeypatch.setattr(flows, "_TEST_CARD", "pm_card_visa")  # not what the pact says
    (new_deal,) = [s for s in SCENARIOS if s.name == "a won deal, new in every system"]
    with pytest.raises(Exception, match=r"payment_method|Mismatch"):
        run_scenario(new_deal, tmp_path)  # the mock server's mismatches, raised on exit
    assert not list(tmp_path.glob("*.json")), "a failed scenario writes no pact"
