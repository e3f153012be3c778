"""``/webhook-endpoints`` (bearer token, like every business endpoint) and ``/_sim/deliveries``.

A receiver registers ``{url, events, secret?}``; the secret is answered once, at
creation, as Stripe does. Only loopback URLs are accepted unless the simulator was
started with ``GOLIVE_WEBHOOK_HOSTS`` naming other hosts (or ``*``): a simulator
should not be made to post to arbitrary hosts by whoever holds a token
(docs/webhooks.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from simulators.kit.dispatcher import Dispatcher, sequence_of
from simulators.kit.errors import Invalid, NotFound, problem_responses
from simulators.kit.http import (
    CURSOR,
    LIMIT,
    ListOf,
    json_response,
    matching,
    object_response,
    page_response,
)
from simulators.kit.params import Filter
from simulators.kit.routing import SimRoute
from simulators.kit.state import SystemState
from simulators.kit.webhooks import (
    ENDPOINTS,
    check_event_types,
    check_secret,
    done_counter,
    new_secret,
)
from simulators.loopback import is_loopback

__all__ = ["WebhookEndpoint", "control_deliveries_router", "webhooks_router"]

_Url = Annotated[str, Field(min_length=8, max_length=2048, description="http(s) URL to POST to.")]
_Types = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100)]],
    Field(min_length=1, max_length=100, description="Event types, or ['*'] for all."),
]
_Text = Annotated[str, Field(max_length=500)]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: _Url
    events: _Types
    secret: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="whsec_<base64>; made for you when left out."
    )
    description: _Text | None = None
    external_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None


class WebhookEndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: _Url | None = None
    events: _Types | None = None
    status: Literal["enabled", "disabled"] | None = None
    description: _Text | None = None


class WebhookEndpoint(BaseModel):
    id: str
    external_id: str | None
    url: str
    events: list[str]
    status: Literal["enabled", "disabled"]
    description: str | None
    secret: str | None = Field(None, description="Only in the answer to the creation.")
    version: int
    created_at: str
    updated_at: str
    correlation_id: str | None


def _check_url(url: str, allowed: tuple[str, ...]) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise Invalid(
            "invalid_webhook_url",
            f"{url[:100]!r} is not an http(s) URL with a host",
            [{"field": "url", "message": "http://host[:port]/path"}],
        )
    if not (is_loopback(host) or "*" in allowed or host in allowed):
        raise Invalid(
            "webhook_url_not_allowed",
            f"this simulator delivers to loopback only; start it with GOLIVE_WEBHOOK_HOSTS="
            f"{host} (or *) to deliver to {host}",
            [{"field": "url", "message": "host not allowed"}],
        )
    return url


def _public(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {**endpoint, "secret": None}


def webhooks_router(state: SystemState) -> APIRouter:
    rt = state.rt
    endpoints = state.col(ENDPOINTS)
    router = APIRouter(tags=["webhooks"], route_class=SimRoute)
    allowed = tuple(rt.config.webhook_hosts)

    @router.post(
        "/webhook-endpoints",
        status_code=201,
        response_model=WebhookEndpoint,
        responses=problem_responses(422),
        summary="Register a webhook receiver",
    )
    async def create_endpoint(body: WebhookEndpointCreate) -> Response:
        secret = body.secret or new_secret()
        check_secret(secret)
        endpoint = state.new(
            ENDPOINTS,
            {
                "external_id": body.external_id,
                "url": _check_url(body.url, allowed),
                "events": check_event_types(rt.system, body.events),
                "status": "enabled",
                "description": body.description,
                "secret": secret,
            },
        )
        # Deliveries start with the next event: the ones before are done with for it.
        state.store.raise_counter(done_counter(endpoint["id"]), rt.events.last_sequence)
        return object_response(endpoint, 201)

    @router.get("/webhook-endpoints", response_model=ListOf(WebhookEndpoint))
    async def list_endpoints(
        limit: int = LIMIT, cursor: str | None = CURSOR, external_id: Filter = None
    ) -> Response:
        where = matching(external_id=external_id)
        page = endpoints.page(limit, cursor, where, scope=f"external_id={external_id}")
        page.data = [_public(e) for e in page.data]
        return page_response(page)

    @router.get(
        "/webhook-endpoints/{endpoint_id}",
        response_model=WebhookEndpoint,
        responses=problem_responses(404),
    )
    async def get_endpoint(endpoint_id: str) -> Response:
        return object_response(_public(endpoints.get(endpoint_id)))

    @router.patch(
        "/webhook-endpoints/{endpoint_id}",
        response_model=WebhookEndpoint,
        responses=problem_responses(404, 422),
    )
    async def update_endpoint(endpoint_id: str, body: WebhookEndpointUpdate) -> Response:
        endpoint = endpoints.get(endpoint_id)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if "url" in changes:
            _check_url(changes["url"], allowed)
        if "events" in changes:
            changes["events"] = check_event_types(rt.system, changes["events"])
        return object_response(_public(state.update(ENDPOINTS, endpoint, changes)))

    @router.delete(
        "/webhook-endpoints/{endpoint_id}", responses=problem_responses(404), summary="Remove"
    )
    async def delete_endpoint(endpoint_id: str) -> Response:
        endpoints.remove(endpoints.get(endpoint_id)["id"])
        return json_response({"id": endpoint_id, "deleted": True})

    return router


def control_deliveries_router(state: SystemState, dispatcher: Dispatcher) -> APIRouter:
    rt = state.rt
    router = APIRouter(prefix="/_sim", tags=["control plane"])

    @router.get("/deliveries")
    async def deliveries(
        limit: int = Query(1000, ge=1, le=10_000),
        event_id: str | None = Query(None, max_length=64),
        endpoint_id: str | None = Query(None, max_length=100),
    ) -> Response:
        attempts = list(dispatcher.attempts)
        if event_id is not None:
            attempts = [a for a in attempts if a["event_id"] == event_id]
        if endpoint_id is not None:
            attempts = [a for a in attempts if a["endpoint_id"] == endpoint_id]
        return json_response(
            {"data": attempts[-limit:], "total": len(attempts), "queued": dispatcher.queued(),
             "pending": dispatcher.pending()}
        )  # fmt: skip

    @router.post("/deliveries/{event_id}/redeliver", responses=problem_responses(404, 410, 422))
    async def redeliver(
        event_id: str, endpoint_id: str | None = Query(None, max_length=100)
    ) -> Response:
        page, _ = rt.events.after(_previous(rt.system, event_id), 1)
        if not page or page[0]["id"] != event_id:
            raise NotFound("not_found", f"no event {event_id!r} in this simulator's log")
        if endpoint_id is not None and endpoint_id not in state.col(ENDPOINTS):
            raise NotFound("not_found", f"no webhook endpoint {endpoint_id!r}")
        queued = dispatcher.redeliver(page[0], endpoint_id)
        return json_response({"event_id": event_id, "queued": queued})

    return router


def _previous(system: str, event_id: str) -> str | None:
    """The id of the event before ``event_id`` (``after=`` it reads ``event_id`` first)."""
    try:
        number = sequence_of(event_id)
    except ValueError:
        number = -1
    if not event_id.startswith(f"evt_{system}_") or number < 1:
        raise Invalid(
            "invalid_event_id",
            f"{event_id[:80]!r} is not an event id of {system}",
            [{"field": "event_id", "message": f"evt_{system}_<12 digits>"}],
        )
    return None if number == 1 else f"evt_{system}_{number - 1:012d}"
