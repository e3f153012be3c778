"""How each vendor class throttles: the one table the simulators and the scenario model share.

A system may have a per-client request rate (a token bucket: ``rate_per_s`` refill,
``burst`` tokens), a concurrency limit for the whole simulated account (requests in
flight at once), and a rolling 24-hour quota for the whole account. ``None`` is no
limit of that kind. Light on purpose (no third-party imports): the CLI reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lifecycle.systems import SystemName

__all__ = ["LIMIT_FIELDS", "MAX_RATE_PER_S", "MIN_RATE_PER_S", "VENDOR_LIMITS", "LimitSettings"]

LIMIT_FIELDS = ("rate_per_s", "burst", "concurrency", "daily_quota")
MIN_RATE_PER_S = 1 / 86_400
MAX_RATE_PER_S = 100_000.0


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """The limits of one system; every field None means it is not throttled at all."""

    rate_per_s: float | None = None
    burst: int | None = None
    concurrency: int | None = None
    daily_quota: int | None = None

    def __post_init__(self) -> None:
        for name in LIMIT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} must be a positive number or null, not {value!r}")
            if name != "rate_per_s" and not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, not {value!r}")
        if self.rate_per_s is not None and not MIN_RATE_PER_S <= self.rate_per_s <= MAX_RATE_PER_S:
            raise ValueError(
                f"rate_per_s must be from {MIN_RATE_PER_S:g} (one a day) to {MAX_RATE_PER_S:g}, "
                f"not {self.rate_per_s!r}"
            )
        if self.burst is not None and self.rate_per_s is None:
            raise ValueError("burst needs rate_per_s (the bucket's refill rate)")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in LIMIT_FIELDS)

    @property
    def bucket_size(self) -> int | None:
        """Tokens the bucket holds: ``burst``, or one second's worth (at least 1)."""
        if self.rate_per_s is None:
            return None
        return self.burst or max(1, round(self.rate_per_s))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The vendor classes (docs/limits.md, throttling, says what each follows). Salesforce
# counts API calls per org over a rolling 24 h (Enterprise Edition starts at 100,000)
# and caps concurrent long-running requests at 25; Stripe allows 100 requests per
# second in live mode; Zendesk Enterprise 700 per minute; NetSuite caps concurrent
# requests per account, the usual bottleneck of an integration. The scenario model
# (scenarios/spec.py) takes its defaults from this table too.
VENDOR_LIMITS: dict[SystemName, LimitSettings] = {
    "crm": LimitSettings(rate_per_s=100.0, burst=100, concurrency=25, daily_quota=100_000),
    "cpq": LimitSettings(rate_per_s=50.0, burst=50, concurrency=20, daily_quota=100_000),
    "billing": LimitSettings(rate_per_s=100.0, burst=100, concurrency=50),
    "support": LimitSettings(rate_per_s=11.0, burst=20, concurrency=20),
    "erp": LimitSettings(rate_per_s=10.0, burst=20, concurrency=10),
}
