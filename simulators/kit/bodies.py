"""What every simulator's request bodies share: no unknown fields, bounded dates.

Bounds on every field are what keep fuzzed input a 422 instead of a 500.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "RequestBody",
    "bounded_date",
]

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


class RequestBody(BaseModel):
    """Base of request bodies: a field the API does not know is refused (422)."""

    model_config = ConfigDict(extra="forbid")


def bounded_date(value: date | None) -> date | None:
    """A field validator keeping dates within 2000-01-01 .. 2100-12-31."""
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value
