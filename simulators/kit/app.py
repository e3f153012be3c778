"""Builds a simulator's ASGI app from its state and its business routes.

Every simulator gets the same token endpoint, event feed, control plane, metrics,
error handlers, middleware and completed OpenAPI document from here.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from lifecycle.events import Event
from simulators.kit.auth import BadTokenRequest, token_error_response
from simulators.kit.control import control_router, package_version
from simulators.kit.dispatcher import Dispatcher
from simulators.kit.durable import open_durable
from simulators.kit.errors import (
    PROBLEM_MEDIA_TYPE,
    LastResort,
    SimError,
    problem_response,
    problem_responses,
)
from simulators.kit.fault_routes import fault_router
from simulators.kit.faults import FaultEngine
from simulators.kit.http import LIMIT, json_response
from simulators.kit.limits_api import limits_router
from simulators.kit.middleware import SimMiddleware
from simulators.kit.openapi import complete_openapi
from simulators.kit.routing import SimRoute
from simulators.kit.state import SystemState
from simulators.kit.ticker import Ticker
from simulators.kit.uow import current_unit
from simulators.kit.webhooks_api import control_deliveries_router, webhooks_router

__all__ = ["build_app"]


class Token(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class EventPage(BaseModel):
    data: list[Event]
    next_cursor: str | None


_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {
                            "type": "string",
                            "description": "With client_secret, when not sent as HTTP Basic.",
                        },
                        "client_secret": {"type": "string"},
                    },
                }
            }
        },
    },
    # HTTP Basic client authentication, or the credentials in the form (RFC 6749 2.3.1).
    "security": [{"clientBasic": []}, {}],
}


def _token_error(*codes: str, challenge: bool = False) -> dict[str, Any]:
    schema = {
        "allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {
                "type": "object",
                "required": ["error", "error_description"],
                "properties": {
                    "error": {"type": "string", "enum": list(codes)},
                    "error_description": {"type": "string"},
                },
            },
        ]
    }
    doc: dict[str, Any] = {
        "description": "RFC 6749 section 5.2 error: `error` beside the problem's `code`",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
    }
    if challenge:
        doc["headers"] = {
            "WWW-Authenticate": {
                "description": "Basic, when the client authenticated with HTTP Basic.",
                "schema": {"type": "string"},
            }
        }
    return doc


_TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _token_error("invalid_request", "unsupported_grant_type"),
    401: _token_error("invalid_client", challenge=True),
}


def _shared_router(state: SystemState) -> APIRouter:
    rt = state.rt
    router = APIRouter(route_class=SimRoute)

    @router.post(
        "/oauth/token",
        tags=["auth"],
        response_model=Token,
        responses={**_TOKEN_ERRORS, **problem_responses(422)},
        openapi_extra=_TOKEN_FORM,
        summary="Client-credentials token (RFC 6749 section 4.4)",
    )
    async def token(request: Request) -> Response:
        try:
            content_type = request.headers.get("content-type", "")
            if "application/x-www-form-urlencoded" not in content_type:
                raise BadTokenRequest(
                    "invalid_request", "send the token request as application/x-www-form-urlencoded"
                )
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            body = rt.tokens.issue_for(fields, request.headers.get("authorization"), time.time())
        except SimError as exc:
            return token_error_response(exc)
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @router.get(
        "/events",
        tags=["events"],
        response_model=EventPage,
        responses=problem_responses(410, 422),
        summary="The ordered, replayable event feed",
    )
    async def events(
        after: str | None = Query(
            None,
            max_length=64,
            pattern=r"^evt_[a-z]+_[0-9]{12}$",
            description="Last event id already seen.",
        ),
        limit: int = LIMIT,
        type: list[str] | None = Query(None, description="Only these event types."),
    ) -> Response:
        data, more = rt.events.after(after, limit, set(type) if type else None)
        next_cursor = data[-1]["id"] if data and more else None
        return json_response({"data": data, "next_cursor": next_cursor})

    @router.get("/metrics", tags=["metrics"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        gauges = {f"objects_{n}": float(len(c)) for n, c in state.store.collections.items()}
        gauges["events_stored"] = float(len(rt.events))
        gauges["idempotency_keys"] = float(len(rt.idempotency))
        gauges["events_first_kept"] = float(rt.events.first_sequence)
        # Monotonic, kept by the store: rendered as the counter it is.
        rt.metrics.counters[("idempotency_keys_evicted", "")] = rt.idempotency.evicted
        if rt.durable is not None:  # group commit at work: change sets per SQLite commit
            rt.metrics.counters[("storage_commits", "")] = rt.durable.commits
            rt.metrics.counters[("storage_change_sets", "")] = rt.durable.done
        return PlainTextResponse(rt.metrics.render(gauges), media_type="text/plain; version=0.0.4")

    return router


def _doom() -> None:
    unit = current_unit()
    if unit is not None and not unit.closed:
        unit.doomed = True


def build_app(state: SystemState, routes: APIRouter, *, title: str, description: str) -> FastAPI:
    """The ASGI app of one simulator: ``routes`` plus everything every simulator shares."""
    # FastAPI's native OpenTelemetry looks up its providers on every request (about
    # 10 % of a GET); the simulators export Prometheus metrics instead. GOLIVE_OTEL=1
    # turns it back on for teams that trace through the simulators.
    otel = os.environ.get("GOLIVE_OTEL", "") not in ("", "0")
    rt = state.rt
    dispatcher = Dispatcher(state, timeout_s=rt.config.webhook_timeout_s, seed=rt.config.seed)
    rt.reset_hooks.append(dispatcher.clear)
    rt.pending_deliveries = dispatcher.pending
    rt.next_delivery_at = dispatcher.next_due

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Background work runs while the server does: the webhook dispatcher, and the
        # clock's jobs (kit/ticker.py); in-process clients that send no lifespan events
        # move time through the control plane only.
        ticker = Ticker(state)
        app.state.ticker = ticker
        dispatcher.start()
        ticker.start()
        try:
            yield
        finally:
            await ticker.stop()
            await dispatcher.stop()

    app = FastAPI(
        lifespan=lifespan,
        title=title,
        version=package_version(),
        description=description,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        telemetry=None if otel else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.sim = state
    app.state.dispatcher = dispatcher
    if state.rt.config.state_dir is not None:
        # Loads the state directory (docs/durability.md); refuses a folder in use. Then
        # the deliveries not done with before the restart are queued again (at least once).
        open_durable(state)
        dispatcher.restore()
    # Routes are added flat, not with include_router: FastAPI's included routers
    # re-resolve their candidates on every request (about 35 us of a 100 us GET).
    # Business routes go first: routing is a linear scan and they are the hot ones.
    # FastAPI's own documentation routes (/openapi.json, /docs) move behind them: no
    # other route starts with their first path segment, so no request's match changes.
    documentation = list(app.router.routes)
    del app.router.routes[:]
    for router in (
        routes,
        webhooks_router(state),
        _shared_router(state),
        control_router(state),
        limits_router(state),
        fault_router(state),
        control_deliveries_router(state, dispatcher),
    ):
        app.router.routes.extend(router.routes)
    app.router.routes.extend(documentation)

    # A raised refusal undoes what the request wrote before it (kit/uow.py), unless it
    # says it commits; a response the endpoint returns commits.
    @app.exception_handler(SimError)
    async def _sim_error(_: Request, exc: SimError) -> Response:
        if not exc.commits:
            _doom()
        return problem_response(exc.status, exc.code, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> Response:
        _doom()
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        return problem_response(422, "validation_failed", "the request is not valid", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        _doom()
        code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return problem_response(
            exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})
        )

    app.add_middleware(SimMiddleware, runtime=state.rt)
    # Outside the unit of work, so it sees a write's response after the commit and can
    # delay or withhold it (docs/faults.md); left out when the config turns it off.
    if state.rt.config.fault_engine:
        app.add_middleware(FaultEngine, runtime=state.rt)
    # Added last, so outermost: it also catches what the middleware above raises.
    # Middleware added after this line would sit outside the net.
    app.add_middleware(LastResort)
    app.openapi = lambda: complete_openapi(app)  # type: ignore[method-assign]
    return app
