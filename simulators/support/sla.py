"""The due times SLA targets give a case.

The targets are one table in ``lifecycle.sla``, shared with the data generator,
so generated and simulated cases agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lifecycle.sla import DEFAULT_TIER, SLA_TARGETS_MIN, TIER_RANK, targets_min

__all__ = ["DEFAULT_TIER", "SLA_TARGETS_MIN", "TIER_RANK", "due_times"]


def due_times(created: datetime, tier: str, priority: str) -> tuple[datetime, datetime]:
    """When the first response and the resolution of a case opened at ``created`` are due."""
    first_min, solve_min = targets_min(tier, priority)
    return created + timedelta(minutes=first_min), created + timedelta(minutes=solve_min)
