"""Webhook endpoints: what a receiver registers, and how each delivery is signed.

Endpoints are objects of the kit's own ``webhook_endpoint`` collection in every
simulator's store, so they commit, roll back, reset and (with ``--state-dir``)
persist like the system's objects, but they are not part of ``/_sim/export`` or
``/_sim/seed``. Deliveries are signed as the Standard Webhooks specification says,
with the ``standardwebhooks`` library, so any receiver verifies them with it or with
``svix`` (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from lifecycle.events import EVENT_TYPES
from simulators.kit.errors import Invalid
from simulators.kit.store import CollectionSpec

__all__ = [
    "ENDPOINTS",
    "KIT_COLLECTIONS",
    "RETRY_SCHEDULE_S",
    "check_event_types",
    "done_counter",
    "matches",
    "new_secret",
    "signed_headers",
]

ENDPOINTS = "webhook_endpoint"
KIT_COLLECTIONS = (CollectionSpec(ENDPOINTS, indexed=("external_id",), label="webhook endpoint"),)
# Seconds of simulated time after the first attempt at which a failed delivery is
# tried again: the schedule Standard Webhooks' reference service (Svix) documents,
# immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; each wait gets up to 10 %
# of seeded jitter. After the last one the delivery is given up and logged as failed.
RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
_SECRET_BYTES = 24


def new_secret() -> str:
    """A ``whsec_`` secret: base64 of random bytes, as Standard Webhooks defines it."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def check_secret(secret: str) -> None:
    """422 ``invalid_webhook_secret`` unless ``secret`` is ``whsec_`` + base64 of 24-64 bytes."""
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = b""
    if not secret.startswith("whsec_") or not 24 <= len(key) <= 64:
        raise Invalid(
            "invalid_webhook_secret",
            "a webhook secret is whsec_ followed by the base64 of 24 to 64 random bytes; "
            "leave it out and one is made for you",
            [{"field": "secret", "message": "whsec_<base64>"}],
        )


def check_event_types(system: str, wanted: list[str]) -> list[str]:
    """The event types an endpoint asks for, ``["*"]`` for all; 422 for an unknown one."""
    known = EVENT_TYPES[system]
    unknown = [t for t in wanted if t != "*" and t not in known]
    if unknown or not wanted:
        raise Invalid(
            "unknown_event_type",
            f"{system} emits no event type {unknown[0]!r}; use '*' or one of its types"
            if unknown
            else "name at least one event type, or '*' for all",
            [{"field": "events", "message": f"known: {', '.join(known)}"}],
        )
    return ["*"] if "*" in wanted else sorted(set(wanted))


def matches(endpoint: dict[str, Any], event_type: str) -> bool:
    return endpoint["status"] == "enabled" and (
        endpoint["events"] == ["*"] or event_type in endpoint["events"]
    )


def done_counter(endpoint_id: str) -> str:
    """The store counter of an endpoint: every event up to this number is done with."""
    return f"webhook_done:{endpoint_id}"


def signed_headers(secret: str, event_id: str, body: str, sent_at: float) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt.

    ``webhook-timestamp`` is the wall-clock time of the attempt, never the simulated
    clock: receivers refuse a timestamp more than 5 minutes from their own clock.
    """
    moment = datetime.fromtimestamp(sent_at, UTC)
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at)),
        "webhook-signature": Webhook(secret).sign(event_id, moment, body),
        "user-agent": "golive-webhooks/1",
    }
