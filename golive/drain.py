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


def admin_call(
    estate: Estate, system: str, path: str, *, client: httpx.Client | None = None, **kw: Any
) -> Any:
    """One control-plane call (``/_sim<path>``) with the estate's admin headers; its JSON.

    Pass a ``client`` when calling in a loop: ``httpx.request`` builds a client (and its
    TLS context) per call, which costs more than the loopback call itself."""
    method = kw.pop("method", "GET")
    url = f"{estate.url(system)}/_sim{path}"
    if client is None:
        response = httpx.request(method, url, headers=estate.admin_headers, timeout=30, **kw)
    else:
        response = client.request(method, url, headers=estate.admin_headers, **kw)
    response.raise_for_status()
    return response.json()


def pending_deliveries(estate: Estate, client: httpx.Client | None = None) -> int:
    """Webhook deliveries due now or in flight, over every system of the estate."""
    return sum(
        int(
            admin_call(estate, s, "/deliveries", client=client, params={"limit": 1}).get("pending")
            or 0
        )
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
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            last = status() if status is not None else None
            busy = bool(last and (last.get("queue_depth") or last.get("parked")))
            quiet = 0 if busy or pending_deliveries(estate, client) else quiet + 1
            if quiet >= 2:
                break
            time.sleep(0.05)
    return last
