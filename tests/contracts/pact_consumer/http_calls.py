"""Shared pieces of the HTTP interactions: headers, bodies and the calls every system gets.

Matchers, not literal values, except where the value is the point (a status, an error
``code``, the ``status`` a flow branches on). Ids in paths and bodies are literal: they
are provider-state parameters (examples.py), and the verifier replays them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pact import Pact, match
from pact.interaction import HttpInteraction

from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = [
    "EVENT_ID",
    "call",
    "created",
    "found",
    "is_",
    "lookup",
    "nothing",
    "problem",
    "token",
]

EVENT_ID = "evt_crm_000000000001"  # the event the consumer tests' jobs carry
JSON = "application/json"
ID = r"^[A-Za-z0-9_.:-]{1,64}$"


def is_(value: str) -> Any:
    """The exact value (what a flow branches on), written as a regex matcher."""
    return match.regex(value, regex=f"^{value}$")


def token(pact: Pact) -> None:
    """``POST /oauth/token``: client credentials, form-encoded (docs/api.md, auth)."""
    form = (
        f"grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}"
        f"&client_secret={DEFAULT_CLIENT_SECRET}"
    )
    (
        pact.upon_receiving("a client-credentials token request")
        .with_request("POST", "/oauth/token")
        .with_body(form, content_type="application/x-www-form-urlencoded")
        .will_respond_with(200)
        .with_body(
            {
                "access_token": match.str("eyJhbGciOiJIUzI1NiJ9.pact.token"),
                "token_type": match.regex("Bearer", regex="^[Bb]earer$"),
                "expires_in": match.int(3600),
            },
            content_type=JSON,
        )
    )


def call(
    pact: Pact,
    description: str,
    method: str,
    path: str,
    *,
    states: Sequence[tuple[str, dict[str, Any]]] = (),
    query: dict[str, str] | None = None,
    corr: str | None = None,
    step: str | None = None,
    body: dict[str, Any] | None = None,
) -> HttpInteraction:
    """The request part of an interaction, as the middleware's ``Systems.call`` sends it."""
    interaction = pact.upon_receiving(description)
    for state, params in states:
        interaction.given(state, params)
    interaction.with_request(method, path)
    for name, value in (query or {}).items():
        interaction.with_query_parameter(name, value)
    interaction.with_header(
        "Authorization",
        match.regex("Bearer eyJhbGciOiJIUzI1NiJ9.pact.token", regex=r"^Bearer \S+$"),
    )
    if corr is not None:
        interaction.with_header("X-Correlation-Id", match.regex(corr, regex=ID))
    if step is not None:  # Idempotency-Key: <event id>:<step>, stable on a retry
        interaction.with_header(
            "Idempotency-Key", match.regex(f"{EVENT_ID}:{step}", regex=rf"^\S+:{step}$")
        )
    if body is not None:
        interaction.with_body(body, content_type=JSON)
    return interaction


def lookup(
    pact: Pact, description: str, path: str, external_id: str, corr: str | None,
    states: Sequence[tuple[str, dict[str, Any]]] = (),
) -> HttpInteraction:  # fmt: skip
    """``GET <path>?external_id=..&limit=1``: the first step of every upsert."""
    return call(pact, description, "GET", path, states=states, corr=corr,
                query={"external_id": external_id, "limit": "1"})  # fmt: skip


def found(interaction: HttpInteraction, item: dict[str, Any]) -> None:
    """A page with (at least) the object."""
    interaction.will_respond_with(200).with_body({"data": match.each_like(item)}, content_type=JSON)


def nothing(interaction: HttpInteraction) -> None:
    interaction.will_respond_with(200).with_body({"data": []}, content_type=JSON)


def created(interaction: HttpInteraction, item: dict[str, Any], status: int = 201) -> None:
    interaction.will_respond_with(status).with_body(item, content_type=JSON)


def problem(
    interaction: HttpInteraction, status: int, code: str, headers: dict[str, Any] | None = None
) -> None:
    """An RFC 9457 problem whose ``code`` is the point."""
    interaction.will_respond_with(status)
    for name, value in (headers or {}).items():
        interaction.with_header(name, value)
    interaction.with_body(
        {"status": status, "code": code, "title": match.str(code),
         "detail": match.str(f"the simulator's explanation of {code}")},
        content_type="application/problem+json",
    )  # fmt: skip
