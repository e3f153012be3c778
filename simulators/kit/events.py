"""The ordered, replayable event log behind ``GET /events?after=``.

Every state change appends one envelope (``lifecycle.events.Event``). Inside a
transaction (``kit/uow.py``) an event waits for the commit and only then gets its id,
joins the feed and is told to listeners (the webhook outbox), so no reader ever sees
an event whose change was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lifecycle.events import event_id
from simulators.kit.clock import SimClock
from simulators.kit.context import current_correlation_id
from simulators.kit.errors import Invalid
from simulators.kit.uow import current_unit

__all__ = ["EventLog"]

EventDict = dict[str, Any]


class EventLog:
    """Append-only list of event envelopes of one system, ids in emission order."""

    def __init__(self, system: str, clock: SimClock) -> None:
        self.system = system
        self.clock = clock
        self._events: list[EventDict] = []
        self._listeners: list[Callable[[EventDict], None]] = []
        self.emitted_total = 0

    def __len__(self) -> int:
        return len(self._events)

    def subscribe(self, listener: Callable[[EventDict], None]) -> None:
        self._listeners.append(listener)

    def emit(
        self, event_type: str, data: dict[str, Any], occurred_at: str | None = None
    ) -> EventDict:
        """Append an event (at the commit, inside a transaction); ``occurred_at`` defaults to now.

        The returned envelope gets its ``id`` when it joins the feed.
        """
        event = {
            "id": None,
            "type": event_type,
            "system": self.system,
            "occurred_at": occurred_at or self.clock.now_iso(),
            "correlation_id": current_correlation_id.get(),
            "data": data,
        }
        unit = current_unit()
        if unit is None:
            self.publish((event,))
        else:
            unit.emitted(event)
        return event

    def publish(self, events: Iterable[EventDict]) -> None:
        """Number committed events and append them to the feed, in order."""
        log, system, first = self._events, self.system, len(self._events)
        for event in events:
            event["id"] = event_id(system, len(log) + 1)
            log.append(event)
        self.emitted_total += len(log) - first
        if self._listeners:  # told once every event of the commit is on the feed
            for event in log[first:]:
                for listener in self._listeners:
                    listener(event)

    def numbered(self, events: list[EventDict]) -> list[EventDict]:
        """Copies of ``events`` with the ids ``publish`` would give them now."""
        first = len(self._events) + 1
        return [{**e, "id": event_id(self.system, first + n)} for n, e in enumerate(events)]

    def _position_after(self, after: str | None) -> int:
        if not after:
            return 0
        prefix = f"evt_{self.system}_"
        tail = after[len(prefix) :] if after.startswith(prefix) else ""
        if not tail.isdigit():
            raise Invalid(
                "invalid_event_id",
                f"{after!r} is not an event id of {self.system}",
                [{"field": "after", "message": "unknown event id"}],
            )
        return min(int(tail), len(self._events))

    def after(
        self, after: str | None, limit: int, types: set[str] | None = None
    ) -> tuple[list[EventDict], bool]:
        """Events after ``after`` (exclusive), at most ``limit``; and whether more follow."""
        start = self._position_after(after)
        out: list[EventDict] = []
        position = start
        while position < len(self._events) and len(out) < limit:
            event = self._events[position]
            position += 1
            if types is None or event["type"] in types:
                out.append(event)
        more = any(
            types is None or self._events[i]["type"] in types
            for i in range(position, len(self._events))
        )
        return out, more

    def all(self) -> list[EventDict]:
        return list(self._events)

    def clear(self) -> None:
        unit = current_unit()
        if unit is not None:
            unit.events_cleared(self, self._events)
        self._events = []  # a fresh list: a rollback puts the old one back

    def refill(self, events: list[EventDict]) -> None:
        """Undo ``clear``."""
        self._events = events
