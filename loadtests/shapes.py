"""Locust load shapes for quarter end and month end, over the stage tables of ``stages``.

They read Locust's own ``--users`` (the peak) and ``--run-time`` (the whole shape), so
``locust -f loadtests/quarter_end.py --users 200 --run-time 10m`` means what it says;
without them, ``GOLIVE_LOAD_USERS`` and ``GOLIVE_LOAD_DURATION_S``, then 50 users, 2 min.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from locust import LoadTestShape

from loadtests.stages import Stage, month_end_stages, quarter_end_stages, stage_at

__all__ = ["MonthEndShape", "QuarterEndShape"]

DEFAULT_PEAK_USERS = 50
DEFAULT_DURATION_S = 120.0


class _StagedShape(LoadTestShape):
    abstract: ClassVar[bool] = True
    use_common_options: ClassVar[bool] = True
    multiplier: ClassVar[float] = 10.0

    def __init__(
        self, peak_users: int | None = None, duration_s: float | None = None,
        multiplier: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__()  # type: ignore[no-untyped-call]
        self.peak_users = peak_users
        self.duration_s = duration_s
        self.peak_multiplier = multiplier if multiplier is not None else self.multiplier
        self._stages: list[Stage] | None = None

    def build(self, peak_users: int, duration_s: float) -> list[Stage]:
        raise NotImplementedError

    def _options(self) -> tuple[int, float]:
        parsed: Any = getattr(getattr(self.runner, "environment", None), "parsed_options", None)
        users = self.peak_users or getattr(parsed, "num_users", None)
        users = users or int(os.environ.get("GOLIVE_LOAD_USERS", DEFAULT_PEAK_USERS))
        duration = self.duration_s or getattr(parsed, "run_time", None)
        duration = duration or float(os.environ.get("GOLIVE_LOAD_DURATION_S", DEFAULT_DURATION_S))
        return int(users), float(duration)

    def reset_time(self) -> None:
        """A new test (e.g. started again from the web UI) reads the options afresh."""
        super().reset_time()  # type: ignore[no-untyped-call]
        self._stages = None

    @property
    def stages(self) -> list[Stage]:
        """The table this shape runs (built on first use, from the options)."""
        if self._stages is None:
            self._stages = self.build(*self._options())
        return self._stages

    def tick(self) -> tuple[int, float] | None:
        stage = stage_at(self.stages, self.get_run_time())  # type: ignore[no-untyped-call]
        return None if stage is None else (stage.users, stage.spawn_rate)


class QuarterEndShape(_StagedShape):
    """Baseline, ramp, 10 x peak, drain (``--users`` is the peak)."""

    multiplier: ClassVar[float] = 10.0

    def build(self, peak_users: int, duration_s: float) -> list[Stage]:
        return quarter_end_stages(peak_users, duration_s, self.peak_multiplier)


class MonthEndShape(_StagedShape):
    """Baseline, ramp, 3 x peak, drain (``--users`` is the peak)."""

    multiplier: ClassVar[float] = 3.0

    def build(self, peak_users: int, duration_s: float) -> list[Stage]:
        return month_end_stages(peak_users, duration_s, self.peak_multiplier)
