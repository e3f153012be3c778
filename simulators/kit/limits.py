"""Throttling as the vendors do it: request rate per client, concurrency and a daily quota.

Three limits, each optional (``lifecycle.limits.LimitSettings``), checked by
``SimMiddleware`` on every business request after its token is verified:

- concurrency for the whole simulated account: a request that arrives while
  ``concurrency`` are in flight gets 429 ``concurrency_limit_exceeded`` (NetSuite);
- a token bucket per client (pyrate-limiter's ``TokenBucket``): past it, 429
  ``rate_limit_exceeded`` with ``Retry-After`` (Stripe, Zendesk); every answer
  carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``;
- a rolling 24-hour quota for the account: past it, 403 ``request_limit_exceeded``
  (Salesforce); every answer carries ``Sforce-Limit-Info: api-usage=N/M``.

Time for the limits passes with the wall clock or the simulated clock, whichever moved
more: a frozen clock still refills buckets in real time, and advancing it a day frees
the daily quota (docs/limits.md, throttling).
"""

from __future__ import annotations

import math
import time
from collections import deque

from pyrate_limiter import AbstractClock, Rate, RateItem, StateBucket, TokenBucket

from lifecycle.limits import LimitSettings
from simulators.kit.clock import SimClock
from simulators.kit.errors import SimError

__all__ = ["LimitExceeded", "Limiter", "QuotaExceeded"]

_DAY_MS = 86_400_000
_QUOTA_SLOT_MS = 60_000  # the rolling quota counts per minute: 1,440 slots a day
_MAX_BUCKETS = 10_000  # clients with a bucket; past it the idle ones are forgotten


class LimitExceeded(SimError):
    """A request refused by a limit (429); it never reached the endpoint (no key is saved)."""

    status = 429


class QuotaExceeded(LimitExceeded):
    """The account's requests of the last 24 hours are used up (403, as Salesforce answers)."""

    status = 403


class _LimitClock(AbstractClock):
    """Milliseconds that move with the wall clock or the simulated clock, whichever moved more."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._real = time.monotonic()
        self._sim = clock.timestamp()
        self._elapsed_s = 0.0

    def now(self) -> int:
        real, sim = time.monotonic(), self._clock.timestamp()
        self._elapsed_s += max(0.0, real - self._real, sim - self._sim)
        self._real, self._sim = real, sim
        return int(self._elapsed_s * 1000)


class Limiter:
    """The limits of one simulator and what they have counted so far."""

    def __init__(self, clock: SimClock, settings: LimitSettings | None = None) -> None:
        self._clock = _LimitClock(clock)
        self.in_flight = 0
        self.configure(settings or LimitSettings())

    def configure(self, settings: LimitSettings) -> None:
        """Apply new limits; what was counted under the old ones starts again."""
        self.settings = settings
        self.active = settings.active
        self._rates: list[Rate] = []
        size = settings.bucket_size
        if settings.rate_per_s is not None and size is not None:
            # ``size`` tokens per the time they take to refill: rate_per_s, to the millisecond.
            interval_ms = max(1, round(1000 * size / settings.rate_per_s))
            self._rates = [Rate(size, interval_ms, burst=size)]
        self._buckets: dict[str, StateBucket] = {}
        self._quota: deque[list[int]] = deque()  # [minute slot, requests] oldest first
        self._quota_used = 0

    # -- the request path ---------------------------------------------------------------------

    def admit(self, client_id: str) -> list[tuple[bytes, bytes]]:
        """Count a request in, or raise ``LimitExceeded``; returns the headers to answer with.

        An admitted request must be let out with ``release()`` when it ends.
        """
        settings = self.settings
        now = self._clock.now()
        headers: list[tuple[bytes, bytes]] = []
        if settings.daily_quota is not None:
            self._slide(now)
        if settings.concurrency is not None and self.in_flight >= settings.concurrency:
            raise LimitExceeded(
                "concurrency_limit_exceeded",
                f"{self.in_flight} requests of this account are in flight, the most it "
                f"allows is {settings.concurrency}; retry when one has finished",
                headers={"Retry-After": "1", **self._quota_header()},
            )
        if self._rates:
            headers = self._take(client_id, now)
        if settings.daily_quota is not None:
            if self._quota_used >= settings.daily_quota:
                raise QuotaExceeded(
                    "request_limit_exceeded",
                    f"this account made {self._quota_used} of its {settings.daily_quota} "
                    "requests allowed in 24 hours; retry when older ones leave the window",
                    headers=self._quota_header(),
                )
            self._count(now)
            headers.append((b"sforce-limit-info", self._usage().encode()))
        self.in_flight += 1
        return headers

    def release(self) -> None:
        self.in_flight -= 1

    # -- the token bucket ---------------------------------------------------------------------

    def _take(self, client_id: str, now: int) -> list[tuple[bytes, bytes]]:
        bucket = self._buckets.get(client_id)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full_buckets()
            bucket = StateBucket(self._rates, algorithm=TokenBucket(), clock=self._clock)
            self._buckets[client_id] = bucket
        item = RateItem(client_id, now)
        size = self._rates[0].burst
        if not bucket.put(item):
            wait_ms = bucket.waiting(item)
            wait_s = max(1, math.ceil(wait_ms / 1000)) if isinstance(wait_ms, int) else 1
            raise LimitExceeded(
                "rate_limit_exceeded",
                f"client {client_id} is over {self.settings.rate_per_s:g} requests per second "
                f"(bucket of {size}); retry after {wait_s} s",
                headers={
                    "Retry-After": str(wait_s),
                    "RateLimit-Limit": str(size),
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(wait_s),
                    **self._quota_header(),
                },
            )
        owed = bucket.count()
        assert isinstance(owed, int)
        refill_s = math.ceil(owed / (self.settings.rate_per_s or 1))
        return [
            (b"ratelimit-limit", str(size).encode()),
            (b"ratelimit-remaining", str(max(0, size - owed)).encode()),
            (b"ratelimit-reset", str(refill_s).encode()),
        ]

    def _forget_full_buckets(self) -> None:
        """Drop the buckets that are full again: forgetting them changes nothing."""
        for client_id, bucket in list(self._buckets.items()):
            if bucket.count() == 0:
                del self._buckets[client_id]
        if len(self._buckets) >= _MAX_BUCKETS:  # every client busy: the oldest goes
            del self._buckets[next(iter(self._buckets))]

    # -- the rolling quota --------------------------------------------------------------------

    def _slide(self, now: int) -> None:
        oldest = now // _QUOTA_SLOT_MS - _DAY_MS // _QUOTA_SLOT_MS
        quota = self._quota
        while quota and quota[0][0] <= oldest:
            self._quota_used -= quota.popleft()[1]

    def _count(self, now: int) -> None:
        slot = now // _QUOTA_SLOT_MS
        if self._quota and self._quota[-1][0] == slot:
            self._quota[-1][1] += 1
        else:
            self._quota.append([slot, 1])
        self._quota_used += 1

    def _usage(self) -> str:
        return f"api-usage={self._quota_used}/{self.settings.daily_quota}"

    def _quota_header(self) -> dict[str, str]:
        return {} if self.settings.daily_quota is None else {"Sforce-Limit-Info": self._usage()}

    def usage(self) -> dict[str, object]:
        """What ``GET /_sim/limits`` shows beside the settings."""
        now = self._clock.now()
        if self.settings.daily_quota is not None:
            self._slide(now)
        return {
            "in_flight": self.in_flight,
            "daily_requests": self._quota_used,
            "clients_throttled": len(self._buckets),
        }
