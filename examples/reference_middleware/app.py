"""The ASGI app: verify, dedupe, store, answer 2xx; plus /health and /status.

Patterns shown:

- **Verify before anything else.** ``standardwebhooks`` checks the ``webhook-signature``
  HMAC over ``id.timestamp.body`` and refuses a timestamp more than 5 minutes off:
  a forged or replayed-later request gets 401 and is never stored (docs/webhooks.md).
- **Dedupe on the event id** (the store's PRIMARY KEY), then **answer fast**: the flows
  run in the worker pool, not in the request.
- **Observable**: ``GET /status`` shows the queue, the parked jobs, the dead letters and
  each system's breaker, which is what an operator looks at during an outage.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from examples.reference_middleware.clients import Systems
from examples.reference_middleware.flows import correlation_of
from examples.reference_middleware.settings import SYSTEMS, Settings
from examples.reference_middleware.store import Store
from examples.reference_middleware.worker import Pool

__all__ = ["RefusedEvent", "create_app", "read_event"]

log = logging.getLogger("reference_middleware")


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": code, "status": status, "code": code, "detail": detail},
        status_code=status, media_type="application/problem+json",
    )  # fmt: skip


class RefusedEvent(Exception):
    """A webhook the middleware does not take: answered with this status and code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code = status, code


def read_event(verifier: Webhook, system: str, headers: dict[str, str], body: bytes) -> Any:
    """The event envelope of a webhook body, once its signature and shape are checked.

    The same checks, in the same order, as the ``/webhooks/<system>`` endpoint makes
    (its consumer pacts hand their messages here: docs/provider-states.md).
    """
    if system not in SYSTEMS:
        raise RefusedEvent(404, "unknown_system", f"no system {system!r}; one of {SYSTEMS}")
    try:
        verifier.verify(body, headers)
    except WebhookVerificationError as exc:
        raise RefusedEvent(401, "invalid_signature", str(exc)) from None
    event = json.loads(body)
    if not isinstance(event, dict) or not {"id", "type"} <= event.keys():
        raise RefusedEvent(422, "invalid_event", "the body is not an event envelope")
    if event["id"] != headers.get("webhook-id") or event.get("system") != system:
        raise RefusedEvent(422, "invalid_event", f"not an event of {system} with the webhook-id")
    return event


def create_app(settings: Settings) -> Starlette:
    """The reference middleware as an ASGI app; its workers run while the app is served."""
    verifier = Webhook(settings.webhook_secret)
    store = Store(settings.state_dir / "inbox.sqlite3")
    holder: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        systems = Systems(settings)
        pool = Pool(store, systems, settings.workers)
        holder.update(systems=systems, pool=pool)
        pool.start()
        try:
            yield
        finally:
            await pool.stop()
            await systems.close()
            store.close()

    async def webhook(request: Request) -> JSONResponse:
        system = request.path_params["system"]
        try:
            event = read_event(verifier, system, dict(request.headers), await request.body())
        except RefusedEvent as exc:
            return _problem(exc.status, exc.code, str(exc))
        fresh = store.add(system, event, correlation_of(event))
        if fresh:
            holder["pool"].wake()
        return JSONResponse({"received": event["id"], "duplicate": not fresh})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def status(request: Request) -> JSONResponse:
        systems: Systems = holder["systems"]
        counts = store.counts()
        return JSONResponse({
            "queue_depth": counts["pending"] + counts["running"], "parked": counts["parked"],
            "due": counts["due"],
            "dlq": counts["dead"], "done": counts["done"], "busy_workers": holder["pool"].busy,
            "workers": settings.workers, "calls": systems.calls,
            "breakers": {s: b.state for s, b in systems.breakers.items()},
        })  # fmt: skip

    return Starlette(
        routes=[
            Route("/webhooks/{system}", webhook, methods=["POST"]),
            Route("/health", health),
            Route("/status", status),
        ],
        lifespan=lifespan,
    )
