"""The estate clock: all five simulators at one instant, moved in steps that settle.

Behind ``golive clock`` and the pytest plugin's ``golive_clock``. An advance freezes
every simulator at one instant, then moves them together a step at a time (1 h of
simulated time by default); after each step it waits until the estate has settled:
every system's jobs up to the step have run, webhook deliveries due are delivered,
and no business request is in flight or arrived for the quiet period. A step with
nothing due anywhere, taken while the estate is quiet, jumps straight to the next due
instant. docs/control-plane.md (the estate clock) states the rule and its limits.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = [
    "DEFAULT_QUIET_S",
    "DEFAULT_SETTLE_LIMIT_S",
    "DEFAULT_STEP_S",
    "AdvanceResult",
    "EstateClock",
    "NotSettled",
    "format_utc",
    "parse_utc",
]

DEFAULT_STEP_S = 3600.0
DEFAULT_QUIET_S = 0.1
DEFAULT_SETTLE_LIMIT_S = 30.0
_POLL_MIN_S = 0.005

Progress = Callable[[float, float, float], None]  # (now, start, target) epoch seconds


def parse_utc(text: str | datetime) -> datetime:
    """An ISO 8601 instant (or a datetime); naive values are UTC. ValueError otherwise."""
    if isinstance(text, datetime):
        moment = text
    else:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO 8601 instant") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_utc(moment: datetime | float) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class NotSettled(RuntimeError):
    """A step of an estate advance did not settle within the limit (the result says why)."""

    def __init__(self, result: AdvanceResult) -> None:
        super().__init__(result.unsettled or "the estate did not settle")
        self.result = result


@dataclass
class AdvanceResult:
    """What an estate advance did: steps, jobs run per system, failures, what did not settle."""

    start: str
    target: str
    reached: str = ""
    steps: int = 0
    jumps: int = 0
    waits: int = 0
    runs: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    flagged: int = 0
    stalled: list[dict[str, Any]] = field(default_factory=list)
    unsettled: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.unsettled is None

    def note(self, system: str, ran: Mapping[str, Any]) -> None:
        mine = self.runs.setdefault(system, {})
        for job, count in ran.get("runs", {}).items():
            mine[job] = mine.get(job, 0) + count
        self.failures += [{"system": system, **f} for f in ran.get("failures", ())]
        self.stalled += [{"system": system, **s} for s in ran.get("stalled", ())]
        self.flagged += int(ran.get("flagged_total", 0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start, "target": self.target, "reached": self.reached,
            "steps": self.steps, "jumps": self.jumps, "waits": self.waits, "runs": self.runs,
            "failures": self.failures, "flagged": self.flagged, "stalled": self.stalled,
            "unsettled": self.unsettled, "seconds": round(self.seconds, 3),
        }  # fmt: skip


class EstateClock:
    """Every simulator's clock at once, through the control plane (``/_sim/clock``)."""

    def __init__(
        self,
        urls: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.urls = {s: u.rstrip("/") for s, u in urls.items()}
        self._http = httpx.Client(headers=dict(headers or {}), timeout=timeout_s)
        # The systems are called side by side: a step costs one round trip, not five.
        self._pool = ThreadPoolExecutor(max(1, len(self.urls)), "golive-clock")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._http.close()

    def __enter__(self) -> EstateClock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one call per system ---------------------------------------------------------------

    def _call(self, method: str, system: str, path: str, body: Any = None) -> dict[str, Any]:
        url = f"{self.urls[system]}/_sim/clock{path}"
        try:
            response = self._http.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"{system} ({self.urls[system]}): {exc}") from None
        if response.status_code != 200:
            detail = response.text[:300]
            with contextlib.suppress(ValueError):
                detail = response.json().get("detail", detail)
            raise ValueError(f"{system} refused {method} /_sim/clock{path}: {detail}")
        view: dict[str, Any] = response.json()
        return view

    def _all(self, method: str, path: str = "", body: Any = None) -> dict[str, dict[str, Any]]:
        calls = {s: self._pool.submit(self._call, method, s, path, body) for s in self.urls}
        return {s: call.result() for s, call in calls.items()}

    def show(self) -> dict[str, dict[str, Any]]:
        """Each system's ``GET /_sim/clock``: now, frozen, next_due_at, activity."""
        return self._all("GET")

    def freeze(self, at: datetime | str | None = None) -> None:
        """Stop every clock at ``at`` (a datetime or an ISO 8601 string), or at the latest now.

        A naive datetime, or a string without an offset, is taken as UTC. A clock behind
        ``at`` runs the jobs due on the way (a freeze at a later instant is an advance).
        """
        if at is None:
            at = self._stop_all()
        self._all("POST", "/freeze", {"at": format_utc(parse_utc(at))})

    def _stop_all(self) -> datetime:
        """Freeze every clock where it stands; returns the latest of their instants."""
        return max(parse_utc(v["now"]) for v in self._all("POST", "/freeze", {}).values())

    def resume(self) -> None:
        """Let every clock run again from where it stands."""
        self._all("POST", "/freeze", {"frozen": False})

    # -- the stepped advance ---------------------------------------------------------------

    def advance(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        seconds: float = 0,
        to: datetime | str | None = None,
        step_s: float = DEFAULT_STEP_S,
        quiet_s: float = DEFAULT_QUIET_S,
        settle_limit_s: float = DEFAULT_SETTLE_LIMIT_S,
        jump: bool = True,
        progress: Progress | None = None,
        outside_busy: Callable[[], bool] | None = None,
    ) -> AdvanceResult:
        """Move the estate forward by ``days + hours + seconds`` or to ``to``, settling.

        ValueError for a target before the estate's clock or a step that is not positive.
        The clocks that were running run again afterwards. A step that does not settle
        within ``settle_limit_s`` ends the advance: the result names it (``ok`` False).
        ``outside_busy`` is work the simulators cannot see (a middleware's own job queue,
        between a webhook it accepted and its first call): while it answers True a step
        does not settle and no idle stretch is jumped.
        """
        if not step_s > 0:
            raise ValueError("the step must be a positive number of seconds")
        started = time.monotonic()
        running = [s for s, v in self.show().items() if not v["frozen"]]
        start = self._stop_all().timestamp()
        if to is not None:
            target = parse_utc(to).timestamp()
            if target < start:
                raise ValueError(
                    f"{format_utc(parse_utc(to))} is in the past: the estate's clock reads "
                    f"{format_utc(start)} and never moves back"
                )
        else:
            target = start + days * 86_400 + hours * 3600 + seconds
            if target < start:
                raise ValueError("the clock only moves forward")
        result = AdvanceResult(format_utc(start), format_utc(target))
        try:
            views = self._all("POST", "/freeze", {"at": format_utc(start)})
            for system, view in views.items():
                result.note(system, view.get("ran", {}))
            now = start
            while now < target and result.ok:
                end = min(now + step_s, target)
                if jump and self._quiet(views, quiet_s) and not (outside_busy and outside_busy()):
                    due = self._next_due(views)
                    if due is None or due > end:
                        end = target if due is None else min(due, target)
                        result.jumps += 1
                retry = self._next_delivery(views)
                if retry is not None and now < retry < end:
                    end = retry  # a webhook retry goes at its own instant, not a step later
                views = self._step(end, result)
                views = self._settle(end, views, quiet_s, settle_limit_s, result, outside_busy)
                now = end
                result.reached = format_utc(now)
                if progress is not None:
                    progress(now, start, target)
        finally:
            if running:
                self._all("POST", "/freeze", {"frozen": False})
            result.seconds = time.monotonic() - started
        return result

    def _step(self, end: float, result: AdvanceResult) -> dict[str, dict[str, Any]]:
        result.steps += 1
        views = self._all("POST", "/advance", {"to": format_utc(end)})
        for system, view in views.items():
            result.note(system, view.get("ran", {}))
        return views

    @staticmethod
    def _next_delivery(views: Mapping[str, Mapping[str, Any]]) -> float | None:
        """When the next webhook delivery falls due anywhere (one microsecond later: the
        instant is shown rounded, and the dispatcher sends what is due at or before now)."""
        dues = [parse_utc(v["next_delivery_at"]).timestamp() + 1e-6 for v in views.values()
                if v.get("next_delivery_at")]  # fmt: skip
        return min(dues, default=None)

    def _next_due(self, views: Mapping[str, Mapping[str, Any]]) -> float | None:
        """The next instant anything falls due: a job, or a webhook delivery (a retry)."""
        dues = [parse_utc(v["next_due_at"]).timestamp() for v in views.values()
                if v.get("next_due_at")]  # fmt: skip
        delivery = self._next_delivery(views)
        return min([*dues, *([] if delivery is None else [delivery])], default=None)

    @staticmethod
    def _quiet(views: Mapping[str, Mapping[str, Any]], quiet_s: float) -> bool:
        return all(
            v["activity"]["in_flight"] == 0 and v["activity"]["pending_deliveries"] == 0
            and v["activity"]["idle_s"] >= quiet_s for v in views.values()
        )  # fmt: skip

    def _settle(
        self,
        end: float,
        views: dict[str, dict[str, Any]],
        quiet_s: float,
        limit_s: float,
        result: AdvanceResult,
        outside_busy: Callable[[], bool] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Wait until the estate settled at ``end``; run jobs the SUT's reactions made due."""
        deadline = time.monotonic() + limit_s
        while True:
            lagging = [s for s, v in views.items() if v.get("next_due_at")
                       and parse_utc(v["next_due_at"]).timestamp() <= end]  # fmt: skip
            busy = {s: v["activity"] for s, v in views.items()
                    if v["activity"]["in_flight"] or v["activity"]["pending_deliveries"]
                    or v["activity"]["idle_s"] < quiet_s}  # fmt: skip
            outside = not lagging and not busy and outside_busy is not None and outside_busy()
            if not lagging and not busy and not outside:
                return views
            if time.monotonic() >= deadline:
                why = [f"{s}: job {views[s]['next_job']} due at {views[s]['next_due_at']}"
                       for s in lagging]  # fmt: skip
                why += [f"{s}: {a['in_flight']} request(s) in flight, "
                        f"{a['pending_deliveries']} delivery(ies) pending, idle {a['idle_s']:.3f} s"
                        for s, a in busy.items()]  # fmt: skip
                why += ["the middleware still has work in hand"] if outside else []
                result.unsettled = (
                    f"the step to {format_utc(end)} did not settle within {limit_s:g} s: "
                    + "; ".join(why)
                )
                return views
            result.waits += 1
            for system in lagging:  # work the SUT's reaction made due within the step
                views[system] = self._call("POST", system, "/advance", {"to": format_utc(end)})
                result.note(system, views[system].get("ran", {}))
            if not lagging:
                idle = min((a["idle_s"] for a in busy.values()), default=quiet_s)
                time.sleep(min(max(_POLL_MIN_S, quiet_s - idle), 0.05))
                views = self.show()
