"""Load shapes as tables of stages, free of Locust so they can be checked anywhere.

``QuarterEndShape`` and ``MonthEndShape`` (``loadtests.shapes``) are thin Locust
wrappers over the tables built here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Stage", "month_end_stages", "quarter_end_stages", "stage_at", "total_duration_s"]


@dataclass(frozen=True)
class Stage:
    """Run ``users`` users until ``end_s`` seconds into the test, moving ``spawn_rate``/s."""

    name: str
    end_s: float
    users: int
    spawn_rate: float


def _peak_stages(
    peak_users: int, duration_s: float, multiplier: float,
    fractions: tuple[float, float, float, float],
) -> list[Stage]:  # fmt: skip
    if peak_users < 1:
        raise ValueError("peak users must be at least 1")
    if duration_s <= 0:
        raise ValueError("duration must be positive")
    if multiplier < 1:
        raise ValueError("the peak multiplier must be at least 1")
    baseline = max(1, round(peak_users / multiplier))
    base_f, ramp_f, peak_f, _drain_f = fractions
    t_base = duration_s * base_f
    t_ramp = t_base + duration_s * ramp_f
    t_peak = t_ramp + duration_s * peak_f
    # The ramp is one stage whose spawn rate makes Locust climb linearly over its length.
    ramp_rate = max(1.0, (peak_users - baseline) / max(duration_s * ramp_f, 1e-9))
    # Spread the baseline's start over a few seconds, as traffic never starts at once.
    start_rate = max(1.0, baseline / max(1.0, min(5.0, t_base / 4)))
    drain_rate = max(1.0, (peak_users - baseline) / max(1.0, min(5.0, duration_s * 0.05)))
    return [
        Stage("baseline", t_base, baseline, start_rate),
        Stage("ramp", t_ramp, peak_users, ramp_rate),
        Stage("peak", t_peak, peak_users, ramp_rate),
        Stage("drain", duration_s, baseline, drain_rate),
    ]


def quarter_end_stages(
    peak_users: int, duration_s: float, multiplier: float = 10.0,
    fractions: tuple[float, float, float, float] = (0.2, 0.2, 0.35, 0.25),
) -> list[Stage]:  # fmt: skip
    """Baseline, ramp, ``multiplier`` x peak, drain back to the baseline.

    ``peak_users`` is the user count at the peak; the baseline is ``peak_users /
    multiplier`` (at least one). ``fractions`` split ``duration_s`` between the four
    stages (baseline, ramp, peak, drain) and must add up to 1.
    """
    if not math.isclose(sum(fractions), 1.0):
        raise ValueError("stage fractions must add up to 1")
    return _peak_stages(peak_users, duration_s, multiplier, fractions)


def month_end_stages(
    peak_users: int, duration_s: float, multiplier: float = 3.0,
    fractions: tuple[float, float, float, float] = (0.35, 0.15, 0.3, 0.2),
) -> list[Stage]:  # fmt: skip
    """Month end: a longer baseline and a smaller peak (``multiplier`` x, 3 by default)."""
    if not math.isclose(sum(fractions), 1.0):
        raise ValueError("stage fractions must add up to 1")
    return _peak_stages(peak_users, duration_s, multiplier, fractions)


def stage_at(stages: list[Stage], run_time_s: float) -> Stage | None:
    """The stage running at ``run_time_s``, or None once the table is done."""
    for stage in stages:
        if run_time_s < stage.end_s:
            return stage
    return None


def total_duration_s(stages: list[Stage]) -> float:
    return stages[-1].end_s if stages else 0.0
