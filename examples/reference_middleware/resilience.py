"""Failure handling for calls to the five systems: what to retry, how long to wait, when to stop.

Patterns shown:

- **Classify failures.** A connection error, a timeout, 408, 409 ``idempotency_in_progress``,
  429 and 5xx are ``Transient`` (the same request may work later); any other 4xx is
  ``Permanent`` (retrying cannot fix the request: dead-letter it). docs/api.md lists
  the codes; docs/faults.md lists what golive injects.
- **Backoff with jitter that honours Retry-After.** ``wait_retry_after`` is a tenacity
  wait: the server's ``Retry-After`` when it sent one, else exponential backoff with full
  jitter; both capped, so a 60 s hint cannot hang a worker past ``cap``.
- **A circuit breaker per system.** After ``failures`` transient failures in a row the
  breaker opens: calls to that system fail fast (``BreakerOpen``) for ``reset_s``, then
  one trial call is let through (half-open); its success closes the breaker. Our own,
  in 50 lines, because pybreaker is synchronous first (its async path needs Tornado)
  and aiobreaker is unmaintained; the state machine is small enough to read whole.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx
from tenacity import RetryCallState

__all__ = ["Breaker", "BreakerOpen", "Permanent", "Transient", "classify", "wait_retry_after"]


class Transient(Exception):
    """Worth trying again; ``retry_after_s`` is the server's hint, if it gave one."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Permanent(Exception):
    """Trying again cannot help (a 4xx other than 408/429): goes to the dead letters."""

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status, self.code = status, code


class BreakerOpen(Exception):
    """The system's breaker is open: nothing was sent; try again after ``retry_in_s``."""

    def __init__(self, system: str, retry_in_s: float) -> None:
        super().__init__(f"circuit open for {system} (next trial in {retry_in_s:.1f} s)")
        self.retry_in_s = retry_in_s


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def classify(response: httpx.Response) -> None:
    """Raise Transient or Permanent for a failed answer; return for a 2xx."""
    if response.is_success:
        return
    code = response.status_code
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    what = (
        f"{response.request.method} {response.request.url.path}: {code} {problem.get('code', '')}"
    )
    if code in (408, 425, 429) or code >= 500 or problem.get("code") == "idempotency_in_progress":
        raise Transient(what, _retry_after(response))
    raise Permanent(f"{what} {problem.get('detail', '')}".strip(), code, problem.get("code", ""))


def wait_retry_after(initial: float, cap: float) -> Callable[[RetryCallState], float]:
    """A tenacity ``wait``: Retry-After if the last failure carried one, else full jitter."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hint = error.retry_after_s if isinstance(error, Transient) else None
        if hint is not None:
            return min(hint, cap)
        return random.uniform(0, min(cap, initial * 2 ** (state.attempt_number - 1)))

    return wait


class Breaker:
    """closed → open after ``failures`` in a row → half-open after ``reset_s`` → closed."""

    def __init__(self, system: str, failures: int, reset_s: float) -> None:
        self.system, self.failures, self.reset_s = system, failures, reset_s
        self._count = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self._opened_at >= self.reset_s else "open"

    def before(self) -> None:
        """Call before sending: raises BreakerOpen while open (and during a trial)."""
        state = self.state
        if state == "closed":
            return
        assert self._opened_at is not None
        if state == "half_open" and not self._trial:
            self._trial = True  # this call is the trial
            return
        left = self.reset_s - (time.monotonic() - self._opened_at)
        raise BreakerOpen(self.system, max(left, 0.1))

    def release(self) -> None:
        """The call ended with no answer either way (cancelled): free the trial slot."""
        self._trial = False

    def success(self) -> None:
        self._count, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        self._count += 1
        if self._trial or self._count >= self.failures:
            self._opened_at, self._trial = time.monotonic(), False
