"""Instants as integer microseconds since the epoch, formatted the way the models want.

``datetime`` arithmetic and ``strftime`` cost microseconds per call; the generator
formats millions of instants, so dates are cached per day and times built by hand.
"""

from __future__ import annotations

from datetime import date

from lifecycle.dates import add_months

__all__ = [
    "US_PER_DAY",
    "US_PER_HOUR",
    "US_PER_S",
    "add_months",
    "date_of_us",
    "day_str",
    "month_str",
    "ts",
    "us_of_date",
]

US_PER_S = 1_000_000
US_PER_HOUR = 3_600 * US_PER_S
US_PER_DAY = 86_400 * US_PER_S
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAYS: dict[int, str] = {}


def _day_string(day: int) -> str:
    text = _DAYS.get(day)
    if text is None:
        text = date.fromordinal(day + _EPOCH_ORDINAL).isoformat()
        _DAYS[day] = text
    return text


def day_str(us: int) -> str:
    """``YYYY-MM-DD`` of an instant."""
    return _day_string(us // US_PER_DAY)


def month_str(us: int) -> str:
    """``YYYY-MM`` of an instant (an accounting period's name)."""
    return _day_string(us // US_PER_DAY)[:7]


def ts(us: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` of an instant."""
    day, rest = divmod(us, US_PER_DAY)
    secs, micros = divmod(rest, US_PER_S)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    return f"{_day_string(day)}T{hours:02d}:{minutes:02d}:{secs:02d}.{micros:06d}Z"


def us_of_date(d: date) -> int:
    """Midnight UTC of a date, in microseconds."""
    return (d.toordinal() - _EPOCH_ORDINAL) * US_PER_DAY


def date_of_us(us: int) -> date:
    return date.fromordinal(us // US_PER_DAY + _EPOCH_ORDINAL)
