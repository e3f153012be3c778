"""The request journal: what each simulator received, for ``GET /_sim/journal``.

Entries are tuples in a bounded deque, so journaling costs little on the request path.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from simulators.kit.clock import format_timestamp

__all__ = ["JOURNAL_FIELDS", "Journal"]

JOURNAL_FIELDS = (
    "time",
    "client_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "correlation_id",
    "idempotency_key",
    "replayed",
    "fault",  # the id of the fault rule that fired for the request, if one did
    "wall_at",  # Unix seconds on the wall clock when the request arrived (the estate
    # clock of ``time`` may stand still): start and ``duration_ms`` give its span
)


class Journal:
    """The last ``max_entries`` requests, oldest first."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=max_entries)
        self.enabled = True

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, entry: tuple[Any, ...]) -> None:
        if self.enabled:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        # Entries hold the raw timestamp: formatting it costs more than the rest of
        # the record, and only this (rare) read needs it as text.
        return [
            dict(zip(JOURNAL_FIELDS, (format_timestamp(e[0]), *e[1:]), strict=True))
            for e in self._entries
        ]

    def clear(self) -> None:
        self._entries.clear()
