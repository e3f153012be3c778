"""Dump what a running estate saw into ``REPORT_DIR/raw/``: the raw data of a live run.

``dump_raw(targets, report_dir, client=...)`` reads each simulator named in ``targets``
(system -> base URL) and writes one JSON file per system and kind; ``load_raw`` reads
them back. ``golive scenario calibrate`` fits a simulation from them (docs/calibration.md).

Files (every one a JSON object with ``system`` and ``data`` unless said otherwise):

- ``manifest.json``: ``{format: "golive-raw/1", written_at, notes, systems: {system:
  {url, counts: {journal, deliveries, events}, complete: {journal, deliveries, events}}}}``;
- ``<system>.journal.json``: ``GET /_sim/journal`` entries, oldest first (time, client_id,
  method, path, status, duration_ms, correlation_id, idempotency_key, replayed, fault,
  wall_at; docs/control-plane.md), with ``total`` held by the simulator;
- ``<system>.deliveries.json``: ``GET /_sim/deliveries`` attempts (docs/webhooks.md),
  with ``total``, ``queued`` and ``pending``;
- ``<system>.events.json``: the system's event feed from the oldest event it keeps
  (docs/events.md); ``complete`` is false when the feed had dropped events (410);
- ``<system>.export.json``: ``{system, exported_at, events, counts: {type: n}}`` from
  ``GET /_sim/export``: how many objects of each type the run left.

A journal or delivery log holds at most its simulator's bound (100,000 requests, 10,000
attempts); ``complete`` says whether the file holds every one the simulator kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = ["FORMAT", "KINDS", "RawDump", "RawProblem", "dump_raw", "load_raw"]

FORMAT = "golive-raw/1"
KINDS = ("journal", "deliveries", "events", "export")
_JOURNAL_MAX = 100_000  # the most GET /_sim/journal answers at once
_DELIVERIES_MAX = 10_000


class RawProblem(RuntimeError):
    """A simulator could not be read, or a raw folder is missing or malformed."""


@dataclass
class RawDump:
    """The raw data of one run: ``by_kind[kind][system]`` is that file's JSON object."""

    folder: Path
    manifest: dict[str, Any]
    by_kind: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def systems(self) -> list[str]:
        return sorted(self.manifest.get("systems", {}))

    def rows(self, kind: str, system: str) -> list[dict[str, Any]]:
        """The ``data`` rows of one file (empty when the system has none)."""
        return list(self.by_kind.get(kind, {}).get(system, {}).get("data", []))


def _get(http: httpx.Client, system: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = http.get(url, **kwargs)
    except httpx.TransportError as exc:
        raise RawProblem(f"cannot reach the {system} simulator at {url}: {exc}") from None
    if response.status_code != 200 and response.status_code != 410:
        raise RawProblem(f"{system} answered {response.status_code} to {url}: "
                         f"{response.text[:200]}")  # fmt: skip
    return response


def _token(http: httpx.Client, system: str, base: str, client_id: str, secret: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    try:
        response = http.post(f"{base}/oauth/token", data=form)
    except httpx.TransportError as exc:
        raise RawProblem(f"cannot reach the {system} simulator at {base}: {exc}") from None
    if response.status_code != 200:
        raise RawProblem(f"{system} refused client {client_id!r} at {base}/oauth/token")
    return str(response.json()["access_token"])


def _events(http: httpx.Client, system: str, base: str, token: str) -> tuple[list[Any], bool]:
    """The feed from its oldest kept event; False when the simulator had dropped some."""
    events: list[Any] = []
    after: str | None = None
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"after": after} if after else {})}
        response = _get(http, system, f"{base}/events", params=params, headers=headers)
        if response.status_code == 410:
            return events, False
        body = response.json()
        events.extend(body.get("data", []))
        after = body.get("next_cursor")
        if not after:
            return events, True


def _read_system(
    http: httpx.Client, system: str, base: str, client_id: str, secret: str, events: bool
) -> dict[str, dict[str, Any]]:
    journal = _get(http, system, f"{base}/_sim/journal", params={"limit": _JOURNAL_MAX}).json()
    deliveries = _get(
        http, system, f"{base}/_sim/deliveries", params={"limit": _DELIVERIES_MAX}
    ).json()
    export = _get(http, system, f"{base}/_sim/export").json()
    feed: list[Any] = []
    complete = False
    if events:
        feed, complete = _events(http, system, base, _token(http, system, base, client_id, secret))
    counts = {t: len(objs) for t, objs in sorted(export.get("objects", {}).items())}
    return {
        "journal": {"system": system, "total": journal.get("total"), "data": journal["data"],
                    "complete": len(journal["data"]) == journal.get("total")},
        "deliveries": {"system": system, "total": deliveries.get("total"),
                       "queued": deliveries.get("queued"), "pending": deliveries.get("pending"),
                       "data": deliveries["data"],
                       "complete": len(deliveries["data"]) == deliveries.get("total")},
        "events": {"system": system, "data": feed, "complete": complete},
        "export": {"system": system, "exported_at": export.get("exported_at"),
                   "events": export.get("events"), "counts": counts},
    }  # fmt: skip


def _write(path: Path, body: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def dump_raw(
    targets: Mapping[str, str],
    report_dir: Path,
    *,
    client: httpx.Client,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    events: bool = True,
    notes: Mapping[str, Any] | None = None,
) -> RawDump:
    """Write ``report_dir/raw/`` from the running simulators of ``targets``.

    ``client`` carries the control plane's admin headers (``Estate.admin_headers``);
    ``client_id``/``client_secret`` read the event feeds. ``notes`` (JSON values, e.g. the
    scenario's name and the middleware) go into the manifest. Raises RawProblem.
    """
    folder = report_dir / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    dump = RawDump(folder, {"format": FORMAT, "written_at": datetime.now(UTC).isoformat(),
                            "notes": dict(notes or {}), "systems": {}})  # fmt: skip
    for system, url in sorted(targets.items()):
        base = url.rstrip("/")
        files = _read_system(client, system, base, client_id, client_secret, events)
        for kind, body in files.items():
            _write(folder / f"{system}.{kind}.json", body)
            dump.by_kind.setdefault(kind, {})[system] = body
        dump.manifest["systems"][system] = {
            "url": base,
            "counts": {k: len(files[k]["data"]) for k in ("journal", "deliveries", "events")},
            "complete": {k: files[k]["complete"] for k in ("journal", "deliveries", "events")},
        }
    _write(folder / "manifest.json", dump.manifest)
    return dump


def load_raw(report_dir: Path) -> RawDump:
    """Read ``report_dir/raw/`` (or ``report_dir`` itself if it is the raw folder)."""
    folder = report_dir if (report_dir / "manifest.json").is_file() else report_dir / "raw"
    if not report_dir.is_dir():
        raise RawProblem(f"{report_dir}: no such report folder")
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise RawProblem(f"{report_dir}: no raw/manifest.json (not a live run's report?)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RawProblem(f"{manifest_path}: not readable JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RawProblem(f"{manifest_path}: not a {FORMAT} manifest")
    dump = RawDump(folder, manifest)
    for system in manifest.get("systems", {}):
        for kind in KINDS:
            path = folder / f"{system}.{kind}.json"
            if not path.is_file():
                continue
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RawProblem(f"{path}: not readable JSON ({exc})") from None
            if not isinstance(body, dict):
                raise RawProblem(f"{path}: not a JSON object")
            dump.by_kind.setdefault(kind, {})[system] = body
    return dump
