"""Month-end close on the clock: the ERP closes each month a set time after it ends.

NetSuite and S/4 close periods on a checklist a controller runs after month end; the
simulator runs it as the ``period_close`` job (``kit/scheduler.py``) on the schedule
of the ``period_close_hours`` option: by default 114 h after the month ends, the 5th
of the next month at 18:00 UTC, as the data generator closes its periods (None: never).
Only months that end after the simulator started (or was reset) are closed by the
clock, and only periods that exist (something was posted, or they were seeded): a
period that ended before the start belongs to the team's own data and is left alone,
and the clock never creates one (seeding it later would then collide).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from simulators.erp.receivables import ReceivablesState
from simulators.kit.scheduler import JobResult, JobSpec

__all__ = ["DEFAULT_PERIOD_CLOSE_HOURS", "NEXT_CLOSE", "ClosingState", "month_name"]

DEFAULT_PERIOD_CLOSE_HOURS = 4 * 24 + 18
# Store counter: the month (year * 12 + month - 1) the clock closes next. It lives in
# the store so that a restored simulator goes on where it stood.
NEXT_CLOSE = "period_close_next"


def _month_index(moment: datetime) -> int:
    return moment.year * 12 + moment.month - 1


def month_name(index: int) -> str:
    """``2026-03`` for the month index ``2026 * 12 + 2``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class ClosingState(ReceivablesState):
    """The ``period_close`` job."""

    JOBS: ClassVar[tuple[JobSpec, ...]] = (
        JobSpec("period_close", due="next_close_due", run="run_period_close"),
    )

    def _close_hours(self) -> float | None:
        hours = self.options.get("period_close_hours", DEFAULT_PERIOD_CLOSE_HOURS)
        return None if hours is None else float(hours)

    def on_start(self) -> None:
        # The month in progress when the simulator starts is the first the clock closes.
        self.store.raise_counter(NEXT_CLOSE, _month_index(self.clock.now()))

    def _close_at(self, index: int, hours: float) -> float:
        after = index + 1  # the month after: its first day ends month ``index``
        end = datetime(after // 12, after % 12 + 1, 1, tzinfo=UTC)
        return end.timestamp() + hours * 3600

    def next_close_due(self) -> float | None:
        hours = self._close_hours()
        index = self.store.counter(NEXT_CLOSE)
        if hours is None or index == 0:
            return None
        return self._close_at(index, hours)

    def run_period_close(self, at: datetime) -> JobResult:
        """Close every month whose close day has come, oldest first.

        A period a controller closed already stays as it is; one reopened after the
        clock closed it is not closed again (the clock closes each month once); a month
        with no period (nothing posted) is passed over.
        """
        hours = self._close_hours()
        closed = 0
        while hours is not None:
            index = self.store.counter(NEXT_CLOSE)
            if self._close_at(index, hours) > at.timestamp():
                break
            period = self.find_period(month_name(index))
            if period is not None and period["status"] == "open":
                self.close_period(period["name"])
                closed += 1
            self.store.next_number(NEXT_CLOSE)
        return JobResult(closed)
