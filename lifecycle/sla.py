"""Support SLA targets by tier and priority: one table for the simulator and the generator.

Minutes to the first public agent reply and to resolution, as a Zendesk SLA
policy lists them per priority; premium and enterprise support buy targets
twice as fast.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["DEFAULT_TIER", "SLA_TARGETS_MIN", "TIER_RANK", "targets_min"]

DEFAULT_TIER = "standard"  # the policy a case gets when its organization has no entitlement

_STANDARD = {
    # priority: (first response, resolution) in calendar minutes
    "urgent": (60, 1_440),
    "high": (240, 4_320),
    "normal": (480, 7_200),
    "low": (1_440, 14_400),
}
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


def targets_min(tier: str, priority: str) -> tuple[int, int]:
    """(first response, resolution) targets in minutes."""
    return SLA_TARGETS_MIN[tier][priority]
