"""Calendar arithmetic the simulators and the data generator share.

Billing periods, renewals and generated lifecycles all step by calendar months;
one definition keeps a generated subscription and a simulated one on the same day.
"""

from __future__ import annotations

import calendar
from datetime import date

__all__ = ["add_months"]


def add_months(anchor: date, months: int) -> date:
    """``anchor`` plus ``months`` calendar months, the day clamped to the month's end.

    ``add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)``; negative ``months`` go back.
    """
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))
