"""Waiting for an estate and its middleware to settle, shared by ``golive demo`` and the
live scenarios: the control plane's delivery log and the middleware's ``/status``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from simulators.estate import Estate

__all__ = ["StatusProbe", "admin_call", "pending_deliveries", "wait_drained"]

# A middleware's ``GET /status`` (None for one without it, or when it does not answer).
StatusProbe = Callable[[], dict[str, Any] | None]


_http: httpx.Client | None = None


def _client() -> httpx.Client:
    # One pooled client: ``httpx.request`` builds a client (and its TLS context) per call,
    # which costs more than the loopback call itself.
    global _http
    if _http is None:
        _http = httpx.Client(timeout=30)
    return _http


def admin_call(estate: Estate, system: str, path: str, **kw: Any) -> Any:
    """One control-plane call (``/_sim<path>``) with the estate's admin headers; its JSON."""
    method = kw.pop("method", "GET")
    response = _client().request(
        method, f"{estate.url(system)}/_sim{path}", headers=estate.admin_headers, **kw
    )
    response.raise_for_status()
    return response.json()


def pending_deliveries(estate: Estate) -> int:
    """Webhook deliveries queued or waiting to retry, over every system of the estate."""
    return sum(
        int(admin_call(estate, s, "/deliveries", params={"limit": 1}).get("pending") or 0)
        for s in estate.urls
    )


def wait_drained(
    estate: Estate, status: StatusProbe | None, limit_s: float
) -> dict[str, Any] | None:
    """Until the middleware's queue is empty and no webhook delivery is pending (twice in a
    row), or ``limit_s`` wall seconds passed; the middleware's last ``/status``."""
    deadline = time.monotonic() + limit_s
    quiet = 0
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        last = status() if status is not None else None
        busy = bool(last and (last.get("queue_depth") or last.get("parked")))
        quiet = 0 if busy or pending_deliveries(estate) else quiet + 1
        if quiet >= 2:
            break
        time.sleep(0.05)
    return last
