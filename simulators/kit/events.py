"""The ordered, replayable event log behind ``GET /events?after=``.

Every state change appends one envelope (``lifecycle.events.Event``); listeners
(the webhook dispatcher) are told of each new event after it is appended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lifecycle.events import event_id
from simulators.kit.clock import SimClock
from simulators.kit.context import current_correlation_id
from simulators.kit.errors import Invalid

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
        """Append an event; ``occurred_at`` defaults to now on the simulator clock."""
        event = {
            "id": event_id(self.system, len(self._events) + 1),
            "type": event_type,
            "system": self.system,
            "occurred_at": occurred_at or self.clock.now_iso(),
            "correlation_id": current_correlation_id.get(),
            "data": data,
        }
        self._events.append(event)
        self.emitted_total += 1
        for listener in self._listeners:
            listener(event)
        return event

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
        self._events.clear()
