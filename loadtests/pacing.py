"""How long a load user waits between two flows: think time, or pacing.

By default a user thinks for ``uniform(low, high)`` seconds after each flow (Locust's
``between``): a closed loop, so a slow system also slows its load down. With pacing on
(``GOLIVE_LOAD_PACING=1``) the same interval is counted from the *start* of the previous
flow instead, so each user starts a flow every ``(low + high) / 2`` seconds on average
whatever the responses take: the offered load is fixed by the user count, and latency
measured under it is the latency at that rate, not at whatever rate the system lets
through. A flow that outlasts its interval starts the next one at once (no catch-up
burst); the user then runs below its pace, which the achieved rate shows.

Free of Locust, so it can be checked anywhere.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "PACING_ENV",
    "THINK_SCALE_ENV",
    "WaitTime",
    "paced_between",
    "pacing_from_env",
    "think_scale_from_env",
]

PACING_ENV = "GOLIVE_LOAD_PACING"
THINK_SCALE_ENV = "GOLIVE_LOAD_THINK_SCALE"
_ON = frozenset({"1", "on", "true", "yes"})
_OFF = frozenset({"", "0", "off", "false", "no"})
# Where the pacer keeps its state on the user object (Locust users accept attributes).
_NEXT_ATTR = "_golive_pace_started"

WaitTime = Callable[[Any], float]


def pacing_from_env(env: Mapping[str, str] | None = None) -> bool:
    """``GOLIVE_LOAD_PACING``: on for 1/on/true/yes, off for unset, 0/off/false/no."""
    env = os.environ if env is None else env
    value = env.get(PACING_ENV, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"{PACING_ENV} must be 1 or 0 (on or off), not {value!r}")


def think_scale_from_env(env: Mapping[str, str] | None = None) -> float:
    """``GOLIVE_LOAD_THINK_SCALE``: a factor >= 0 on every think time (default 1; 0: none)."""
    env = os.environ if env is None else env
    raw = env.get(THINK_SCALE_ENV, "1")
    try:
        scale = float(raw)
    except ValueError:
        scale = -1.0
    if not scale >= 0 or scale == float("inf"):
        raise ValueError(f"{THINK_SCALE_ENV} must be a number >= 0, not {raw!r}")
    return scale


def paced_between(
    low_s: float, high_s: float, clock: Callable[[], float] = time.perf_counter
) -> WaitTime:
    """A Locust ``wait_time`` that starts a flow every ``uniform(low_s, high_s)`` seconds.

    The interval runs from the start of the previous flow (as ``constant_pacing`` does,
    but drawn like ``between`` so users do not fall into step). The draw uses the user's
    own seeded ``rng`` when it has one. The first call, knowing no start, waits a whole
    interval.
    """
    if not 0 <= low_s <= high_s:
        raise ValueError("pacing needs 0 <= low <= high")

    def wait_time(user: Any) -> float:
        now = clock()
        rng = getattr(user, "rng", None) or random
        interval: float = low_s + rng.random() * (high_s - low_s)
        started: float | None = getattr(user, _NEXT_ATTR, None)
        wait = interval if started is None else max(0.0, started + interval - now)
        setattr(user, _NEXT_ATTR, now + wait)
        return wait

    return wait_time
