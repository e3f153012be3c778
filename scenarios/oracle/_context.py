"""The state one reconciliation run shares between its checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from scenarios.oracle._model import (
    INVARIANTS,
    InvariantResult,
    Obj,
    Slos,
    Snapshot,
    Violation,
    parse_time,
)

__all__ = ["Ctx", "elapsed_s"]


def elapsed_s(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


@dataclass
class Ctx:
    snap: Snapshot
    slos: Slos
    results: dict[str, InvariantResult] = field(
        default_factory=lambda: {name: InvariantResult(name) for name in INVARIANTS}
    )

    @property
    def now(self) -> datetime | None:
        return parse_time(self.snap.now)

    def checked(self, invariant: str, n: int = 1) -> None:
        self.results[invariant].checked += n

    def fail(
        self, invariant: str, message: str, ids: Iterable[str], correlation_id: str | None
    ) -> None:
        ids = tuple(dict.fromkeys(i for i in ids if i))
        trail = tuple(self.snap.trail(ids))
        self.results[invariant].violations.append(
            Violation(invariant, message, ids, correlation_id, trail)
        )

    def pending(self, invariant: str, since: datetime | None, slo_s: float) -> bool:
        """True while something that started at ``since`` may still be under way (within its
        SLO of the estate's now): a missing follow-up is then not yet a violation, and is
        counted as ``pending`` under ``invariant``."""
        waited = elapsed_s(since, self.now)
        if waited is not None and waited < slo_s:
            self.results[invariant].pending += 1
            return True
        return False

    def when(self, obj: Obj, event_types: tuple[str, ...], field_name: str) -> datetime | None:
        """When something happened to ``obj``: its event's ``occurred_at`` if the feed holds
        one, else the object's own timestamp ``field_name``."""
        at = self.snap.event_time(obj["id"], *event_types)
        return at if at is not None else parse_time(obj.get(field_name))

    def latency(
        self, what: str, slo_s: float, start: datetime | None, end: datetime | None,
        ids: Iterable[str], correlation_id: str | None,
    ) -> None:  # fmt: skip
        took = elapsed_s(start, end)
        if took is None:
            return
        self.checked("latency_slo")
        if took > slo_s:
            self.fail("latency_slo", f"{what} took {took:.0f} s (SLO {slo_s:.0f} s)", ids,
                      correlation_id)  # fmt: skip
