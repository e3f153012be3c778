"""Per-request context (correlation id, client) that state code reads without HTTP."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["EXECUTING", "FAULT", "current_client_id", "current_correlation_id"]

current_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
current_client_id: ContextVar[str | None] = ContextVar("client_id", default=None)

# Set in the ASGI scope by SimRoute once a request passed validation and its endpoint
# runs; the middleware saves an Idempotency-Key's result only then (Stripe's rule).
EXECUTING = "golive.executing"
# Set in the ASGI scope by the fault engine (kit/faults.py): the id of the rule that
# fired for this request, which the journal records beside it.
FAULT = "golive.fault"
