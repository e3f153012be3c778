"""Reading generated data folders back, and loading them into simulators via ``/_sim/seed``.

The loader posts each system's objects in batches (JSON ``{"objects": {...}}``); a
refused batch (422 ``seed_rejected``, 409 ``duplicate_id``) stops the load with an
error that names the object, and an unreachable simulator with one that names the URL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from golive.errors import CheckFailed, UsageProblem
from lifecycle.entities import ENTITY_TYPES, SYSTEM_TYPES
from lifecycle.synth import folder as _folder
from simulators.kit.credentials import ADMIN_TOKEN_ENV

__all__ = [
    "CLOCK_POLICIES",
    "ClockCheck",
    "align_clock",
    "check_folder",
    "control_headers",
    "count_objects",
    "iter_objects",
    "load_folder",
    "read_manifest",
]

Obj = dict[str, Any]


def read_manifest(folder: Path) -> Obj:
    try:
        return _folder.read_manifest(folder)
    except _folder.FolderProblem as exc:
        raise UsageProblem(str(exc)) from None


def check_folder(folder: Path) -> Obj:
    """The manifest, once every file it lists exists, matches its sha256 and parses.

    Called before anything is sent or counted, so a damaged folder is refused whole
    (one line naming the file) instead of being loaded half.
    """
    try:
        return _folder.check_folder(folder)
    except _folder.FolderProblem as exc:
        raise UsageProblem(str(exc)) from None


def control_headers() -> dict[str, str]:
    """The control plane's admin token (needed off loopback), from GOLIVE_SIM_ADMIN_TOKEN."""
    token = os.environ.get(ADMIN_TOKEN_ENV)
    return {"X-Sim-Admin-Token": token} if token else {}


def _csv_decoder(object_type: str) -> Callable[[dict[str, str]], Obj]:
    """Cells back to values: JSON for nested lists, true/false, ints; empty = null."""
    kinds: dict[str, str] = {}
    empty: dict[str, Any] = {}
    for name, info in ENTITY_TYPES[object_type].model_fields.items():
        text = str(info.annotation)
        kinds[name] = ("json" if "list" in text or "dict" in text else "bool" if "bool" in text
                       else "int" if "int" in text else "str")  # fmt: skip
        empty[name] = [] if kinds[name] == "json" else ("" if info.default == "" else None)

    def decode(row: dict[str, str]) -> Obj:
        out: Obj = {}
        for name, cell in row.items():
            kind = kinds.get(name, "str")
            if cell == "":
                out[name] = empty.get(name)
            elif kind == "json":
                out[name] = json.loads(cell)
            elif kind == "bool":
                out[name] = cell == "true"
            elif kind == "int":
                out[name] = int(cell)
            else:
                out[name] = cell
        return out

    return decode


def iter_objects(folder: Path, object_type: str) -> Iterator[Obj]:
    """The objects of one type in a generated folder (NDJSON or CSV), one at a time."""
    manifest = read_manifest(folder)
    fmt = manifest.get("format", "ndjson")
    path = folder / f"{object_type}.{fmt}"
    if not path.exists():
        return
    if fmt == "csv":
        import csv

        decode = _csv_decoder(object_type)
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                yield decode(row)
        return
    with path.open(encoding="utf-8") as fh:
        try:
            for lineno, line in enumerate(fh, 1):  # noqa: B007 (named in the error)
                if line.strip():
                    yield json.loads(line)
        except ValueError as exc:  # a file changed after check_folder; UnicodeDecodeError too
            raise UsageProblem(f"{path}:{lineno}: not valid JSON: {exc}") from None


def count_objects(manifest: Obj) -> int:
    return sum(n for t, n in manifest.get("counts", {}).items() if t in ENTITY_TYPES)


def _refusal(system: str, response: httpx.Response) -> CheckFailed:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    errors = problem.get("errors") or []
    if errors:
        e = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return CheckFailed(
            f"{system} refused {e.get('object_type')} {e.get('id')}: "
            f"{e.get('field')}: {e.get('message')}{more}"
        )
    code = problem.get("code", response.status_code)
    return CheckFailed(
        f"{system} refused a seed batch: {code}: {problem.get('detail', '')}".strip()
    )


def load_folder(
    folder: Path,
    targets: dict[str, str],
    batch_size: int = 500,
    client: httpx.Client | None = None,
    on_batch: Callable[[str, int], None] | None = None,
    systems: tuple[str, ...] | None = None,
) -> dict[str, int]:
    """POST every object of ``folder`` to ``{target}/_sim/seed``; returns loaded counts by type.

    ``systems`` limits the load to some systems (default: all five).
    """
    if batch_size < 1:
        raise UsageProblem("--batch-size must be at least 1")
    read_manifest(folder)
    own = client is None
    http = client or httpx.Client(timeout=60.0, headers=control_headers())
    loaded: dict[str, int] = {}
    try:
        for system, types in SYSTEM_TYPES.items():
            if systems is not None and system not in systems:
                continue
            url = targets[system].rstrip("/") + "/_sim/seed"
            for object_type in types:
                batch: list[Obj] = []
                for obj in iter_objects(folder, object_type):
                    batch.append(obj)
                    if len(batch) >= batch_size:
                        _post(http, system, url, object_type, batch, loaded, on_batch)
                        batch = []
                if batch:
                    _post(http, system, url, object_type, batch, loaded, on_batch)
    finally:
        if own:
            http.close()
    return loaded


def _post(
    http: httpx.Client, system: str, url: str, object_type: str, batch: list[Obj],
    loaded: dict[str, int], on_batch: Callable[[str, int], None] | None,
) -> None:  # fmt: skip
    try:
        response = http.post(url, json={"objects": {object_type: batch}})
    except httpx.TransportError as exc:
        raise UsageProblem(f"cannot reach the {system} simulator at {url}: {exc}") from exc
    if response.status_code != 200:
        raise _refusal(system, response)
    for t, n in response.json().get("loaded", {}).items():
        loaded[t] = loaded.get(t, 0) + int(n)
    if on_batch is not None:
        on_batch(object_type, len(batch))


CLOCK_POLICIES = ("follow", "keep", "strict")
_RUNNING_CASES = ("new", "open", "pending")


@dataclass(frozen=True)
class ClockCheck:
    """The data's "now" against the simulators' clock, and what was done about it."""

    as_of: str  # the data's as_of, an instant
    clock: str  # the latest of the simulators' clocks before the load
    moved: bool  # the clocks were advanced to as_of
    note: str | None  # what a mismatch that stays means, for the user; None if none stays


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _clock_of(http: httpx.Client, system: str, url: str) -> str:
    try:
        response = http.get(f"{url}/_sim/clock")
    except httpx.TransportError as exc:
        raise UsageProblem(f"cannot reach the {system} simulator at {url}: {exc}") from exc
    if response.status_code != 200:
        raise CheckFailed(f"{system} at {url} did not show its clock: HTTP {response.status_code}")
    return str(response.json()["now"])


def _breaching(folder: Path, as_of: str, clock: str) -> int:
    """Cases still running at ``as_of`` with an SLA target due before ``clock``."""
    count = 0
    for case in iter_objects(folder, "case"):
        if case["sla_breached"] or case["status"] not in _RUNNING_CASES:
            continue
        due = [case["resolution_due_at"]]
        if case["first_responded_at"] is None:
            due.append(case["first_response_due_at"])
        count += any(as_of <= d < clock for d in due)
    return count


def align_clock(
    folder: Path,
    targets: dict[str, str],
    policy: str = "follow",
    owned: bool = True,
    client: httpx.Client | None = None,
) -> ClockCheck:
    """Bring the simulators' clock to the data's ``as_of`` where it can, before a load.

    The simulators judge SLA timers, due dates, dunning and renewals against their own
    clock, which never moves back. When ``as_of`` is later, ``follow`` and ``strict``
    advance every clock to it (a frozen clock stays frozen) if the target is ``owned``.
    When it is earlier, nothing can be moved: ``follow`` and ``keep`` load and say what
    the later clock will do to the data, ``strict`` refuses (UsageProblem) before
    anything is loaded. ``keep`` never moves a clock.
    """
    if policy not in CLOCK_POLICIES:
        raise UsageProblem(f"--clock must be one of {', '.join(CLOCK_POLICIES)}, not {policy!r}")
    as_of = f"{read_manifest(folder)['window']['as_of']}T00:00:00.000000Z"
    own = client is None
    http = client or httpx.Client(timeout=30.0, headers=control_headers())
    try:
        clocks = {s: _clock_of(http, s, url.rstrip("/")) for s, url in targets.items()}
        clock = max(clocks.values(), key=_instant)
        if _instant(clock) == _instant(as_of):
            return ClockCheck(as_of, clock, False, None)
        if _instant(clock) < _instant(as_of):
            if policy == "keep" or not owned:
                why = "--clock keep" if policy == "keep" else "the target is not owned"
                if policy == "strict":
                    raise UsageProblem(
                        f"the data is as of {as_of[:10]} but the simulators' clock reads "
                        f"{clock[:19]}Z and {why}: nothing loaded"
                    )
                return ClockCheck(as_of, clock, False, (
                    f"the simulators' clock reads {clock[:19]}Z, before the data's as_of "
                    f"{as_of[:10]}, and was not moved ({why}): records stamped after their "
                    f"clock look as if they come from the future"
                ))  # fmt: skip
            for system, url in targets.items():
                if _instant(clocks[system]) < _instant(as_of):
                    r = http.post(f"{url.rstrip('/')}/_sim/clock/advance", json={"to": as_of})
                    if r.status_code != 200:
                        raise CheckFailed(f"{system} refused to move its clock: {r.text[:200]}")
            return ClockCheck(as_of, clock, True, None)
        late = _breaching(folder, as_of, clock)
        days = (_instant(clock) - _instant(as_of)).total_seconds() / 86_400
        message = (
            f"the data is as of {as_of[:10]} but the simulators' clock reads {clock[:19]}Z "
            f"({days:.0f} days later) and never moves back: they judge SLA timers, due dates "
            f"and renewals against it, so {late} case(s) on time at as_of will be marked "
            f"breached; generate with --as-of {clock[:10]} to match"
        )
        if policy == "strict":
            raise UsageProblem(message + ": nothing loaded")
        return ClockCheck(as_of, clock, False, message)
    finally:
        if own:
            http.close()
