"""The committed consumer pacts verify against the real simulators (pact.Verifier).

Per provider: the simulator is the HTTP transport; the provider states go to its own
``/_sim/provider-states`` (the state-change URL; teardown resets it, so each interaction
starts from an empty simulator); requests carry a real bearer token in place of the
pact's example; a message is the newest event of its type on the simulator's feed,
found through the message's ``event_type`` metadata (docs/provider-states.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pact import Verifier

from lifecycle.systems import SYSTEMS
from simulators.estate import Estate, start_estate
from tests.contracts.pact_consumer.examples import CONSUMER
from tests.contracts.pact_consumer.scenarios import free_port
from tests.contracts.pact_consumer.write import COMMITTED

pytestmark = [pytest.mark.slow, pytest.mark.live]


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    base = free_port(25300)
    while any(free_port(base + i) != base + i for i in range(len(SYSTEMS))):
        base = free_port(base + len(SYSTEMS))
    running = start_estate(SYSTEMS, base_port=base)
    try:
        yield running
    finally:
        running.stop()


def _newest_event(estate: Estate, system: str, event_type: str) -> dict[str, Any]:
    with estate.client(system) as client:
        events = client.get("/events", params={"type": event_type, "limit": 1000}).json()["data"]
    assert events, f"{system} emitted no {event_type} event"
    newest: dict[str, Any] = events[-1]
    return newest


def verify(estate: Estate, system: str, pact_file: str) -> Verifier:
    """A verifier of one pact file against the running simulator of ``system``."""
    pact = json.loads((COMMITTED / pact_file).read_text())
    event_types = {
        i["description"]: i["metadata"]["event_type"]
        for i in pact["interactions"]
        if i["type"] == "Asynchronous/Messages"
    }

    def produce(name: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        event = _newest_event(estate, system, event_types[name])
        return {
            "contents": json.dumps(event).encode(),
            "metadata": {"system": system, "event_type": event["type"]},
            "content_type": "application/json",
        }

    url = estate.url(system)
    verifier = (
        Verifier(system, host="127.0.0.1")
        .add_transport(url=url)
        .add_source(COMMITTED / pact_file)
        .add_custom_header("Authorization", f"Bearer {estate.token(system)}")
        .state_handler(f"{url}/_sim/provider-states", teardown=True, body=True)
    )
    if event_types:
        verifier.message_handler(produce)
    return verifier


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_committed_pact_verifies_against_the_simulator(
    estate: Estate, system: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The message relay pact-python starts listens on a port of this project's range.
    monkeypatch.setattr("pact._server.find_free_port", lambda: free_port(25500))
    httpx.post(f"{estate.url(system)}/_sim/reset", timeout=10).raise_for_status()
    verifier = verify(estate, system, f"{CONSUMER}-{system}.json")
    try:
        verifier.verify()
    except Exception:  # the generic error; the readable report is the output
        raise AssertionError(verifier.output(strip_ansi=True)) from None


def test_a_pact_the_simulator_does_not_keep_fails_naming_the_field(
    estate: Estate, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pact import Pact, match

    monkeypatch.setattr("pact._server.find_free_port", lambda: free_port(25500))
    pact = Pact(CONSUMER, "crm")
    (
        pact.upon_receiving("a request for an account with a nickname")
        .given("an account {account_id} exists", {"account_id": "acc_nick"})
        .with_request("GET", "/accounts/acc_nick")
        .will_respond_with(200)
        .with_body({"id": match.str("acc_nick"), "nickname": match.str("Acme")},
                   content_type="application/json")
    )  # fmt: skip
    pact.write_file(tmp_path, overwrite=True)
    verifier = (
        Verifier("crm", host="127.0.0.1")
        .add_transport(url=estate.url("crm"))
        .add_source(tmp_path / f"{CONSUMER}-crm.json")
        .add_custom_header("Authorization", f"Bearer {estate.token('crm')}")
        .state_handler(f"{estate.url('crm')}/_sim/provider-states", teardown=True, body=True)
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 - the verifier's generic error
        verifier.verify()
    assert "nickname" in verifier.output(strip_ansi=True)
