"""Message pacts: every event type the reference middleware consumes, from the system that emits it.

Convention shared with the verifier (docs/provider-states.md): each message has the
metadata ``{"system", "event_type"}``, content type ``application/json`` and a provider
state that makes the simulator emit such an event; the verifier sets the state, takes
the newest event of that type from the simulator's feed and compares it with the pact.

The consumer side hands each message to the middleware as a webhook would: signed,
read by ``read_event`` (the endpoint's own checks), stored in the inbox, claimed as a
job, and run by ``flows.handle`` against Pact mock servers holding the HTTP interactions
of that event's flow: the message proves the middleware can act on it.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pact import Pact
from standardwebhooks import Webhook

from examples.reference_middleware.app import read_event
from examples.reference_middleware.flows import EVENTS, correlation_of
from examples.reference_middleware.store import Store
from tests.contracts.pact_consumer.events import envelope
from tests.contracts.pact_consumer.examples import (
    CONSUMER,
    INVOICE,
    OPPORTUNITY,
    SUBSCRIPTION,
    TOTAL_MINOR,
)
from tests.contracts.pact_consumer.interactions import ACCOUNT_STATE, QUOTE_STATE
from tests.contracts.pact_consumer.scenarios import SCENARIOS, run_scenario

__all__ = ["EVENT_STATES", "consume", "write_message_pacts"]

_SECRET = "whsec_cGFjdC1tZXNzYWdlLXNlY3JldA=="
_SUB = {"subscription_id": SUBSCRIPTION, "external_id": OPPORTUNITY}

# (system, event type) -> the provider state that makes the simulator emit it.
EVENT_STATES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("crm", "opportunity.closed_won"): (
        "an opportunity {opportunity_id} was won",
        {"opportunity_id": OPPORTUNITY, "account_id": ACCOUNT_STATE[1]["account_id"],
         "quote_id": QUOTE_STATE[1]["quote_id"], "amount_minor": TOTAL_MINOR},
    ),
    ("billing", "invoice.finalized"): (
        "an invoice {invoice_id} was finalized", {"invoice_id": INVOICE, **_SUB},
    ),
    ("billing", "payment.succeeded"): (
        "a payment of invoice {invoice_id} succeeded", {"invoice_id": INVOICE, **_SUB},
    ),
    ("billing", "subscription.canceled"): ("a subscription {subscription_id} was canceled", _SUB),
    ("billing", "subscription.renewed"): ("a subscription {subscription_id} was renewed", _SUB),
}  # fmt: skip


def consume(system: str, body: str | bytes | None, metadata: dict[str, object]) -> None:
    """Take one message as the middleware takes a webhook, then run its flow."""
    assert body is not None, "a message without contents"
    raw = body.encode() if isinstance(body, str) else body
    assert metadata.get("system") == system, metadata
    event_type = str(metadata["event_type"])
    webhook = Webhook(_SECRET)
    event_id = str(json.loads(raw).get("id", ""))  # the webhook-id is the envelope's id
    stamp = datetime.now(UTC)
    headers = {"webhook-id": event_id, "webhook-timestamp": str(int(stamp.timestamp())),
               "webhook-signature": webhook.sign(event_id, stamp, raw.decode())}  # fmt: skip
    event = read_event(webhook, system, headers, raw)
    assert event["type"] == event_type, (event["type"], event_type)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "inbox.sqlite3")
        try:
            assert store.add(system, event, correlation_of(event))
            job = store.claim()
        finally:
            store.close()
    assert job is not None
    flow = next(
        s for s in SCENARIOS if (s.system, s.event_type, s.expect) == (system, event_type, None)
    )
    outcome = run_scenario(flow, None, job=job)
    assert outcome is None, f"{event_type}: the flow failed: {outcome!r}"


def write_message_pacts(directory: Path) -> None:
    """One Async interaction per event type the middleware consumes; verified, then written."""
    for system, types in EVENTS.items():
        pact = Pact(CONSUMER, system)
        for event_type in types:
            state, params = EVENT_STATES[(system, event_type)]
            (
                pact.upon_receiving(f"a {event_type} event", "Async")
                .given(state, params)
                .with_body(envelope(system, event_type), content_type="application/json")
                .with_metadata({"system": system, "event_type": event_type})
            )
        pact.verify(lambda body, metadata, system=system: consume(system, body, metadata),
                    "Async")  # fmt: skip
        pact.write_file(directory, overwrite=False)
