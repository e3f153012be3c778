"""Fetch a snapshot from running simulators: paged ``/_sim/export`` and ``/events``.

Objects come type by type, ``limit`` at a time (docs/control-plane.md, export); events
from each system's pull feed from the oldest it keeps (docs/events.md). The objects
and the feeds are read one after the other, so run the oracle on a quiet estate.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from lifecycle.entities import SYSTEM_TYPES
from scenarios.oracle._model import Obj, Snapshot
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = ["ReadProblem", "read_snapshot"]


class ReadProblem(RuntimeError):
    """A simulator could not be read (not running, refused, or its events expired)."""


def _get(http: httpx.Client, system: str, url: str, **kwargs: object) -> httpx.Response:
    try:
        response = http.get(url, **kwargs)  # type: ignore[arg-type]
    except httpx.TransportError as exc:
        raise ReadProblem(f"cannot reach the {system} simulator at {url}: {exc}") from None
    if response.status_code == 410:
        raise ReadProblem(f"{system} dropped events the oracle had not read ({url}): "
                          f"{response.json().get('detail', '')}")  # fmt: skip
    if response.status_code != 200:
        raise ReadProblem(f"{system} answered {response.status_code} to {url}: "
                          f"{response.text[:200]}")  # fmt: skip
    return response


def _token(http: httpx.Client, system: str, base: str, client_id: str, secret: str) -> str:
    url = f"{base}/oauth/token"
    try:
        form = {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret}  # fmt: skip
        response = http.post(url, data=form)
    except httpx.TransportError as exc:
        raise ReadProblem(f"cannot reach the {system} simulator at {base}: {exc}") from None
    if response.status_code != 200:
        raise ReadProblem(f"{system} refused client {client_id!r} at {url}")
    return str(response.json()["access_token"])


def _objects(
    http: httpx.Client, system: str, base: str, page: int
) -> tuple[dict[str, list[Obj]], str]:
    objects: dict[str, list[Obj]] = {}
    exported_at = ""
    for object_type in SYSTEM_TYPES[system]:
        cursor: str | None = None
        out = objects.setdefault(object_type, [])
        while True:
            params: dict[str, str | int] = {"type": object_type, "limit": page}
            if cursor is not None:
                params["cursor"] = cursor
            body = _get(http, system, f"{base}/_sim/export", params=params).json()
            exported_at = max(exported_at, str(body.get("exported_at") or ""))
            out.extend(body["objects"].get(object_type, []))
            cursor = body.get("next_cursor")
            if not cursor:
                break
    return objects, exported_at


def _events(http: httpx.Client, system: str, base: str, token: str) -> list[Obj]:
    events: list[Obj] = []
    after: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 1000}
        if after is not None:
            params["after"] = after
        body = _get(http, system, f"{base}/events", params=params,
                    headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
        events.extend(body.get("data", []))
        after = body.get("next_cursor")
        if not after:
            return events


def read_snapshot(
    targets: Mapping[str, str],
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    admin_headers: Mapping[str, str] | None = None,
    page_size: int = 1000,
    events: bool = True,
    client: httpx.Client | None = None,
) -> Snapshot:
    """Every object and event of the systems in ``targets`` (system -> base URL)."""
    http = client or httpx.Client(timeout=60.0, headers=dict(admin_headers or {}))
    objects: dict[str, list[Obj]] = {}
    feed: list[Obj] = []
    now = ""
    try:
        for system, url in targets.items():
            base = url.rstrip("/")
            got, exported_at = _objects(http, system, base, page_size)
            objects.update(got)
            now = max(now, exported_at)
            if events:
                token = _token(http, system, base, client_id, client_secret)
                feed.extend(_events(http, system, base, token))
    finally:
        if client is None:
            http.close()
    return Snapshot(objects, feed, now or None)
