"""The simulator clock: real time by default, frozen and advanced on request.

Renewals, invoice runs, dunning, SLA timers, token and idempotency-key expiry all
read this clock, so a year of lifecycle can pass in seconds (Stripe's test clocks).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime, timedelta

from simulators.kit.uow import current_unit

__all__ = ["CLOCK_LIMIT", "SimClock", "format_instant", "format_timestamp", "parse_instant"]

# The clock stays before this instant. datetime ends at 9999-12-31, and the rules add
# years to "now" (terms, renewals, trial ends, quote validity): stopping the clock a few
# millennia short keeps every due date they compute formattable (docs/control-plane.md).
CLOCK_LIMIT = datetime(3000, 1, 1, tzinfo=UTC)
_LIMIT_S = CLOCK_LIMIT.timestamp()
_HALF_US = 0.5e-6


def format_instant(moment: datetime) -> str:
    """``2026-11-23T09:30:00.000000Z``: the one timestamp format of golive."""
    # isoformat is about twice as fast as strftime, and this runs twice per write.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def format_timestamp(timestamp: float) -> str:
    """Epoch seconds as golive's one timestamp format (``format_instant``)."""
    return format_instant(datetime.fromtimestamp(timestamp, UTC))


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; naive values are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _whole_us(timestamp: float) -> float:
    """``timestamp`` on a whole microsecond, as every instant is written: a frozen clock
    then reads back the very instant its timestamps show, so a deadline written as text
    compares with it the same way whatever fraction of a microsecond it was frozen at."""
    return round(timestamp, 6)


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class SimClock:
    """Real time plus an offset, or a frozen instant. Never goes backwards.

    A move inside a transaction (``kit/uow.py``) is part of it: a rollback undoes it.
    """

    def __init__(self) -> None:
        self._offset_s = 0.0
        self._frozen_at: float | None = None
        # The last whole second written as text ("2026-11-23T09:30:00"): the writes of
        # one second share it and add their microseconds. One tuple, so a reader never
        # pairs one second with another's text.
        self._second: tuple[float, str] = (math.nan, "")

    def _moving(self) -> None:
        unit = current_unit()
        if unit is not None:
            offset_s, frozen_at = self._offset_s, self._frozen_at

            def undo() -> None:
                self._offset_s, self._frozen_at = offset_s, frozen_at

            unit.on_rollback(undo)

    def timestamp(self) -> float:
        """Seconds since the epoch on the simulator's clock."""
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset_s

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def now_iso(self) -> str:
        """``format_instant(self.now())``, at a fraction of its cost (every write stamps one).

        The microseconds are rounded as ``datetime.fromtimestamp`` rounds them (half to
        even, carried into the second), and the date and time of the second are formatted
        once per second.
        """
        fraction, second = math.modf(self.timestamp())
        micros = round(fraction * 1e6)
        if micros >= 1_000_000:
            second += 1.0
            micros -= 1_000_000
        elif micros < 0:
            second -= 1.0
            micros += 1_000_000
        cached = self._second
        if cached[0] == second:
            text = cached[1]
        else:
            text = _at(second).isoformat(timespec="seconds")[:-6]
            self._second = (second, text)
        return f"{text}.{micros:06d}Z"

    def today(self) -> date:
        return self.now().date()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock, now or at ``at``: a later instant is an advance, then a freeze.

        Raises ValueError for an instant before the clock's time (the clock never moves
        back) or at or past ``CLOCK_LIMIT``.
        """
        now = self.timestamp()
        if at is not None:
            self._check_target(now, at.timestamp())
            now = max(now, at.timestamp())
        self._moving()
        self._frozen_at = _whole_us(now)

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        if self._frozen_at is not None:
            self._moving()
            self._offset_s = self._frozen_at - time.time()
            self._frozen_at = None

    def advance(self, seconds: float) -> None:
        """Move the clock forward; ValueError for a negative move or one past ``CLOCK_LIMIT``."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the clock only moves forward, by a finite number of seconds")
        self._check_target(self.timestamp(), self.timestamp() + seconds)
        self._moving()
        if self._frozen_at is not None:
            self._frozen_at = _whole_us(self._frozen_at + seconds)
        else:
            self._offset_s += seconds

    def advance_to(self, at: datetime) -> None:
        """Move the clock forward to ``at``; ValueError as ``freeze`` raises it."""
        now = self.timestamp()
        self._check_target(now, at.timestamp())
        self.advance(max(0.0, at.timestamp() - self.timestamp()))

    def check_target(self, target: float, now: float | None = None) -> None:
        """ValueError unless the clock may move from ``now`` (default: now) to ``target``."""
        self._check_target(self.timestamp() if now is None else now, target)

    @staticmethod
    def _check_target(now: float, target: float) -> None:
        # Instants are shown to the microsecond: a target within half of one of the
        # clock is its own instant as shown (the move then leaves the clock where it is).
        if target < now - _HALF_US:
            raise ValueError(
                f"the clock only moves forward: it is at {format_instant(_at(now))} already"
            )
        if target >= _LIMIT_S:
            raise ValueError(
                f"the clock stays before {format_instant(CLOCK_LIMIT)} "
                f"(it is at {format_instant(_at(now))})"
            )

    def reset(self) -> None:
        self._moving()
        self._offset_s = 0.0
        self._frozen_at = None

    def state(self) -> dict[str, object]:
        return {"now": self.now_iso(), "frozen": self.frozen}

    def plus(self, **delta: float) -> str:
        return format_instant(self.now() + timedelta(**delta))
