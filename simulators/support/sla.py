"""SLA targets by support tier and priority, and the due times they give a case.

A table, not code: minutes to the first public agent reply and to resolution,
as a Zendesk SLA policy lists them per priority. The data generator
(``lifecycle/synth/_support.py``) uses the same targets, so generated and
simulated cases agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType

__all__ = ["DEFAULT_TIER", "SLA_TARGETS_MIN", "TIER_RANK", "due_times"]

DEFAULT_TIER = "standard"  # the policy a case gets when its organization has no entitlement

_STANDARD = {
    # priority: (first response, resolution) in calendar minutes
    "urgent": (60, 1_440),
    "high": (240, 4_320),
    "normal": (480, 7_200),
    "low": (1_440, 14_400),
}
# Premium and enterprise support buy targets twice as fast (the generator's rule).
_FASTER = {priority: (first // 2, solve // 2) for priority, (first, solve) in _STANDARD.items()}

SLA_TARGETS_MIN: MappingProxyType[str, MappingProxyType[str, tuple[int, int]]] = MappingProxyType(
    {
        "standard": MappingProxyType(_STANDARD),
        "premium": MappingProxyType(_FASTER),
        "enterprise": MappingProxyType(_FASTER),
    }
)
# When an organization holds several entitlements in force, a case gets the best tier.
TIER_RANK = MappingProxyType({"standard": 0, "premium": 1, "enterprise": 2})


def due_times(created: datetime, tier: str, priority: str) -> tuple[datetime, datetime]:
    """When the first response and the resolution of a case opened at ``created`` are due."""
    first_min, solve_min = SLA_TARGETS_MIN[tier][priority]
    return created + timedelta(minutes=first_min), created + timedelta(minutes=solve_min)
