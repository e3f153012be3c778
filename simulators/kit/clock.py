"""The simulator clock: real time by default, frozen and advanced on request.

Renewals, invoice runs, dunning, SLA timers, token and idempotency-key expiry all
read this clock, so a year of lifecycle can pass in seconds (Stripe's test clocks).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

__all__ = ["SimClock", "format_instant", "parse_instant"]


def format_instant(moment: datetime) -> str:
    """``2026-11-23T09:30:00.000000Z``: the one timestamp format of golive."""
    # isoformat is about twice as fast as strftime, and this runs twice per write.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; naive values are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SimClock:
    """Real time plus an offset, or a frozen instant. Never goes backwards."""

    def __init__(self) -> None:
        self._offset_s = 0.0
        self._frozen_at: float | None = None

    def timestamp(self) -> float:
        """Seconds since the epoch on the simulator's clock."""
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset_s

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def now_iso(self) -> str:
        return format_instant(self.now())

    def today(self) -> date:
        return self.now().date()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock, at ``at`` (not before the current time) or now."""
        target = self.timestamp() if at is None else at.timestamp()
        self._frozen_at = max(target, self.timestamp())

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        if self._frozen_at is not None:
            self._offset_s = self._frozen_at - time.time()
            self._frozen_at = None

    def advance(self, seconds: float) -> None:
        """Move the clock forward; negative moves are refused."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset_s += seconds

    def reset(self) -> None:
        self._offset_s = 0.0
        self._frozen_at = None

    def state(self) -> dict[str, object]:
        return {"now": self.now_iso(), "frozen": self.frozen}

    def plus(self, **delta: float) -> str:
        return format_instant(self.now() + timedelta(**delta))
