"""Waiting until an estate and its middleware have done what they can (``golive demo``, tests).

``wait_drained(estate, sut, limit_s)`` polls, on one connection per system, the
simulators' webhook deliveries (``GET /_sim/deliveries``: ``pending`` = due now or in
flight) and the middleware's ``GET /status`` (``queue_depth``, ``parked``; a middleware
without ``/status`` is judged by the deliveries alone). It ends:

- **settled**: nothing pending anywhere and the middleware's queue empty, twice in a row;
- **still**: no delivery is due or in flight, the middleware still holds work, but
  nothing has moved for ``still_s`` (no delivery attempted, no job done, dead-lettered
  or queued): work parked for an event that never comes. Waiting longer cannot help,
  so the caller reconciles now (a delivery that failed waits for its retry in simulated
  time: it is not pending, so a middleware that answers with errors settles at once);
- **limit**: ``limit_s`` passed while things still moved.

docs/demo.md ("Waiting for the estate to settle") explains why a run never waits for a
drain that cannot come.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from simulators.registry import SYSTEMS

__all__ = ["Drain", "MiddlewareWork", "wait_drained"]

_POLL_S = 0.05
# Status fields that change only when work moves (not ``calls`` nor ``parked``: a parked
# job looked at again counts calls and leaves the parked count while it runs).
_PROGRESS = ("queue_depth", "dlq", "done")


class _Estate(Protocol):
    @property
    def admin_headers(self) -> dict[str, str]: ...

    def url(self, system: str) -> str: ...


class _Sut(Protocol):
    @property
    def url(self) -> str: ...


@dataclass
class Drain:
    """How a wait ended (``outcome``: settled, still or limit) and the last ``/status``."""

    outcome: str
    status: dict[str, Any] | None
    seconds: float
    left: str = ""  # what was left when it did not settle

    @property
    def settled(self) -> bool:
        return self.outcome == "settled"


def _status(http: httpx.Client, sut: _Sut) -> dict[str, Any] | None:
    try:
        response = http.get(f"{sut.url}/status")
        body = response.json() if response.is_success else None
    except (httpx.HTTPError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _moves(view: dict[str, Any]) -> tuple[Any, ...]:
    """What changes in a system's deliveries when one is attempted (the log is capped, so
    its length alone stops moving in a long run)."""
    latest = (view.get("data") or [{}])[-1]
    return view.get("total"), view.get("queued"), latest.get("event_id"), latest.get("attempt")


class MiddlewareWork:
    """Whether a middleware has work in hand that the simulators cannot see: a worker busy,
    or a job due now (its ``GET /status``: ``busy_workers``, ``due``). A webhook it accepted
    is such work until its first call lands; a job waiting for a retry or a parked one is
    not. False for a middleware without ``/status``. Given to ``EstateClock.advance`` as
    ``outside_busy`` so a step does not settle, nor an idle stretch get jumped, in between.
    """

    def __init__(self, sut: _Sut | None) -> None:
        self._sut = sut
        self._http = httpx.Client(timeout=5)

    def __call__(self) -> bool:
        status = _status(self._http, self._sut) if self._sut is not None else None
        if status is None:
            return False
        return int(status.get("busy_workers") or 0) > 0 or int(status.get("due") or 0) > 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MiddlewareWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_drained(estate: _Estate, sut: _Sut | None, limit_s: float, still_s: float = 2.0) -> Drain:
    """Wait until the estate's deliveries and the middleware's queue are done; see the
    module docstring for the three ways it ends."""
    started = time.monotonic()
    quiet = 0
    last: tuple[Any, ...] | None = None
    moved = started
    status: dict[str, Any] | None = None
    left = ""
    with httpx.Client(timeout=10, headers=estate.admin_headers) as http:
        while True:
            status = _status(http, sut) if sut is not None else None
            views = {s: http.get(f"{estate.url(s)}/_sim/deliveries", params={"limit": 1}).json()
                     for s in SYSTEMS}  # fmt: skip
            pending = {s: int(v.get("pending") or 0) for s, v in views.items()}
            work = {k: int((status or {}).get(k) or 0) for k in ("queue_depth", "parked")}
            if not any(pending.values()) and not any(work.values()):
                quiet += 1
                if quiet >= 2:
                    return Drain("settled", status, time.monotonic() - started)
            else:
                quiet = 0
            now = time.monotonic()
            notes = [f"{s}: {n} delivery(ies) pending" for s, n in pending.items() if n]
            if any(work.values()):
                notes.append(f"middleware: {work['queue_depth']} job(s) queued, "
                             f"{work['parked']} parked")  # fmt: skip
            left = "; ".join(notes) or left
            mark = (tuple(_moves(v) for v in views.values()),
                    tuple((status or {}).get(k) for k in _PROGRESS))  # fmt: skip
            if mark != last:
                last, moved = mark, now
            elif quiet == 0 and not any(pending.values()) and now - moved >= still_s:
                # (a delivery in flight is never "still": the receiver may be slow)
                return Drain("still", status, now - started, left)
            if now - started >= limit_s:
                return Drain("limit", status, now - started, left)
            time.sleep(_POLL_S)
