"""Deal arrivals: a calendar-shaped rate (business hours per time zone, month and
quarter ends) and a non-homogeneous Poisson process drawn from it with numpy in bulk.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

import numpy as np

from scenarios.spec import ArrivalProfile, Seasonality

__all__ = ["RATE_STEP_S", "arrival_times", "expected_deals", "rate_per_s"]

RATE_STEP_S = 60.0  # the rate is piecewise constant per simulated minute


def _season(sea: Seasonality, days_left: np.ndarray) -> np.ndarray:
    """Multiplier as a function of days left before the period end."""
    inside = days_left < sea.last_days
    if sea.shape == "step":
        lift = np.where(inside, sea.multiplier, 1.0)
    else:  # ramp: from 1 at the start of the window up to the multiplier at the end
        frac = np.clip(1.0 - days_left / sea.last_days, 0.0, 1.0)
        lift = np.where(inside, 1.0 + (sea.multiplier - 1.0) * frac, 1.0)
    return np.asarray(lift, dtype=float)


def _days_left(times: list[datetime], quarter: bool) -> np.ndarray:
    out = np.empty(len(times))
    for i, t in enumerate(times):
        month = t.month
        if quarter:
            month = ((t.month - 1) // 3) * 3 + 3
        last = calendar.monthrange(t.year, month)[1]
        end = datetime(t.year, month, last, tzinfo=t.tzinfo) + timedelta(days=1)
        out[i] = (end - t).total_seconds() / 86400.0
    return out


def rate_per_s(profile: ArrivalProfile, start: datetime, duration_s: float) -> np.ndarray:
    """Arrival rate (deals per second) for each ``RATE_STEP_S`` step of the window."""
    steps = max(1, int(np.ceil(duration_s / RATE_STEP_S)))
    offsets = np.arange(steps) * RATE_STEP_S + RATE_STEP_S / 2
    base = profile.baseline_deals_per_hour / 3600.0
    hours = profile.business_hours
    if hours is None:
        shape = np.ones(steps)
    else:
        shape = np.zeros(steps)
        total = sum(z.share for z in hours.time_zones)
        start_s = start.timestamp()
        for zone in hours.time_zones:
            local = start_s + offsets + zone.utc_offset_hours * 3600.0
            hour = (local % 86400.0) / 3600.0
            weekday = (np.floor(local / 86400.0).astype(np.int64) + 3) % 7  # 1970-01-01: Thu
            open_ = (hour >= hours.start_hour) & (hour < hours.end_hour)
            factor = np.where(open_, 1.0, hours.off_hours_factor)
            factor = np.where(weekday >= 5, hours.weekend_factor, factor)
            shape += factor * zone.share / total
    # Calendar position per simulated hour is enough for month and quarter ends.
    hour_marks = [start + timedelta(seconds=float(h) * 3600.0) for h in range(int(steps / 60) + 2)]
    month_left = _days_left(hour_marks, quarter=False)
    quarter_left = _days_left(hour_marks, quarter=True)
    idx = np.minimum((offsets // 3600.0).astype(np.int64), len(hour_marks) - 1)
    season = np.maximum(
        _season(profile.month_end, month_left[idx]), _season(profile.quarter_end, quarter_left[idx])
    )
    return np.asarray(base * shape * season)


def expected_deals(profile: ArrivalProfile, start: datetime, duration_s: float) -> float:
    """The mean number of deals the profile produces over the window."""
    return float(rate_per_s(profile, start, duration_s).sum() * RATE_STEP_S)


def arrival_times(
    profile: ArrivalProfile, start: datetime, duration_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Sorted arrival times (simulated seconds from the start) of one replication."""
    rates = rate_per_s(profile, start, duration_s)
    counts = rng.poisson(rates * RATE_STEP_S)
    cell = np.repeat(np.arange(len(rates)) * RATE_STEP_S, counts)
    times = cell + rng.random(cell.size) * RATE_STEP_S
    times.sort()
    return times[times < duration_s]
