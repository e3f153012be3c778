"""The ordered, replayable event log behind ``GET /events?after=``.

Every state change appends one envelope (``lifecycle.events.Event``). Inside a
transaction (``kit/uow.py``) an event waits for the commit and only then gets its id,
joins the feed and is told to listeners (the webhook outbox), so no reader ever sees
an event whose change was rolled back.

The log keeps a window: the newest ``max_events`` (``GOLIVE_EVENT_LOG_MAX_EVENTS``).
Ids go on counting past what was dropped, and ``after=`` an event older than the
window answers 410 ``events_expired`` rather than silently skipping what the reader
missed (docs/events.md, retention).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lifecycle.events import event_id
from simulators.kit.clock import SimClock
from simulators.kit.context import current_correlation_id
from simulators.kit.errors import Gone, Invalid
from simulators.kit.uow import current_unit

__all__ = ["DEFAULT_MAX_EVENTS", "EventLog"]

EventDict = dict[str, Any]
DEFAULT_MAX_EVENTS = 100_000


class EventLog:
    """Append-only list of event envelopes of one system, ids in emission order."""

    def __init__(self, system: str, clock: SimClock, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        if max_events < 1:
            raise ValueError("an event log keeps at least one event")
        self.system = system
        self.clock = clock
        self.max_events = max_events
        # Trimming drops a tenth at a time past the window, so it runs once per that many
        # events rather than on every publish.
        self._trim_at = max_events + max(1, max_events // 10)
        self._events: list[EventDict] = []
        self._dropped = 0  # events before the window: the first kept one is number _dropped + 1
        self._listeners: list[Callable[[EventDict], None]] = []
        self.emitted_total = 0
        self.enabled = True  # False: emit keeps nothing (benchmarks only, SimConfig)

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
        if not self.enabled:
            return {"id": None, "type": event_type, "data": data}
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
        base = self._dropped + 1
        for event in events:
            event["id"] = event_id(system, base + len(log))
            log.append(event)
        self.emitted_total += len(log) - first
        if self._listeners:  # told once every event of the commit is on the feed
            for event in log[first:]:
                for listener in self._listeners:
                    listener(event)
        if len(log) >= self._trim_at:
            self._trim()

    def _trim(self) -> None:
        """Drop the oldest events beyond the window (retention, not a change: no undo)."""
        excess = len(self._events) - self.max_events
        if excess > 0:
            del self._events[:excess]
            self._dropped += excess

    @property
    def first_sequence(self) -> int:
        """The number of the oldest event kept (1 until the window first trims)."""
        return self._dropped + 1

    @property
    def last_sequence(self) -> int:
        """The number of the newest event (0 when none was ever published)."""
        return self._dropped + len(self._events)

    def numbered(self, events: list[EventDict]) -> list[EventDict]:
        """Copies of ``events`` with the ids ``publish`` would give them now."""
        first = self._dropped + len(self._events) + 1
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
        position = int(tail) - self._dropped
        if position < 0:
            oldest = event_id(self.system, self._dropped + 1)
            raise Gone(
                "events_expired",
                f"events after {after} are no longer kept: the log keeps the newest "
                f"{self.max_events} and starts at {oldest}; read the state again "
                "(GET the objects) and go on from the newest event",
                [{"field": "after", "message": f"oldest kept: {oldest}"}],
            )
        return min(position, len(self._events))

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
            unit.events_cleared(self, (self._events, self._dropped))
        self._events = []  # a fresh list: a rollback puts the old one back
        self._dropped = 0

    def refill(self, before: tuple[list[EventDict], int]) -> None:
        """Undo ``clear``."""
        self._events, self._dropped = before
