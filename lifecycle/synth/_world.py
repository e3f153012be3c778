"""The state of one generation run: random streams, ids, pools, catalog, and the working set.

Objects of one account are gathered in ``objects`` and written when the account is
done (they change as its lifecycle unfolds); nothing else grows with the account count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from lifecycle.ids import IdFactory
from lifecycle.synth._catalog import Catalog
from lifecycle.synth._pools import Pools
from lifecycle.synth._time import ts

__all__ = ["Obj", "PendingEvent", "World"]

Obj = dict[str, Any]
# (at_us, system, event type, the object, fields that differ at that moment)
PendingEvent = tuple[int, str, str, Obj, Obj | None]


@dataclass
class World:
    """One run's context; ``as_of_us`` is the generated world's "now"."""

    rng: random.Random
    ids: IdFactory
    pools: Pools
    catalog: Catalog
    start_us: int
    as_of_us: int
    with_events: bool
    objects: list[tuple[str, Obj]] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)

    def new(
        self,
        object_type: str,
        at_us: int,
        external_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Obj:
        """The common fields of a new object, registered in this account's working set."""
        at = ts(at_us)
        obj: Obj = {
            "id": self.ids.new(object_type),
            "external_id": external_id,
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "correlation_id": correlation_id,
        }
        self.objects.append((object_type, obj))
        return obj

    def event(
        self, at_us: int, system: str, event_type: str, obj: Obj, changes: Obj | None = None
    ) -> None:
        """Record that ``event_type`` happened to ``obj`` at ``at_us`` (if events are on)."""
        if self.with_events and at_us <= self.as_of_us:
            self.events.append((at_us, system, event_type, obj, changes))

    def pick(self, pool: tuple[Any, ...]) -> Any:
        return pool[int(self.rng.random() * len(pool))]

    def days(self, low: float, high: float) -> int:
        """A uniform duration in microseconds between ``low`` and ``high`` days."""
        return int(self.rng.uniform(low, high) * 86_400_000_000)
