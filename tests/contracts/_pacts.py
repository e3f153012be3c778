"""Small consumer pacts for the verifier's tests, written with pact-python 4's consumer API.

They use the CRM's existing provider states (``GET /_sim/provider-states``) and the
message-pact convention of docs/contracts.md: metadata ``{"system", "event_type"}``.
"""

from __future__ import annotations

from pathlib import Path

from pact import Pact, match

__all__ = ["CONSUMER", "write_crm_pacts"]

CONSUMER = "test-middleware"


def write_crm_pacts(
    folder: Path, *, account_id: str = "acc_pact_1", consumer: str = CONSUMER, provider: str = "crm"
) -> Path:
    """One HTTP and one message interaction against the CRM; the pact file's path."""
    http = Pact(consumer, provider)
    (
        http.upon_receiving("a request for an account")
        .given("an account exists", id=account_id, name="Acme Pact")
        .with_request("GET", f"/accounts/{account_id}")
        .will_respond_with(200)
        .with_body(
            {
                "id": match.str(account_id),
                "name": match.str("Acme Pact"),
                "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
                "version": match.int(1),
            },
            content_type="application/json",
        )
    )
    http.write_file(folder, overwrite=True)
    messages = Pact(consumer, provider)
    (
        messages.upon_receiving("an account.created event", "Async")
        .given("an account exists", name="Acme Pact")
        .with_body(
            {
                "type": "account.created",
                "system": "crm",
                "id": match.str("evt_crm_000000000001"),
                "occurred_at": match.str("2026-11-23T09:30:00.000000Z"),
                "data": {
                    "id": match.str("acc_1"),
                    "name": match.str("Acme Pact"),
                    "segment": match.str("smb"),
                },
            },
            content_type="application/json",
        )
        .with_metadata({"system": "crm", "event_type": "account.created"})
    )
    messages.write_file(folder)
    return folder / f"{consumer}-{provider}.json"
