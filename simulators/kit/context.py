"""Per-request context (correlation id, client) that state code reads without HTTP."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["current_client_id", "current_correlation_id"]

current_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
current_client_id: ContextVar[str | None] = ContextVar("client_id", default=None)
