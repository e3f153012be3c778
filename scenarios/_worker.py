"""The middleware worker loop and the systems' admission checks: the model's hot path.

Kept apart from the model's bookkeeping so the per-call cost stays visible: plain
lists indexed by system, locals for every attribute, no allocation per call.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from scenarios._state import EstateState

__all__ = ["Workers"]

_FLOW, _DEAL, _EMITTED, _ENQ, _FIRST, _STEP, _ATTEMPT, _DUP = range(8)
_CONCURRENCY_RETRY_AFTER_S = 1.0  # NetSuite-like 429s on concurrency carry no Retry-After


class Workers(EstateState):
    """Mixin of :class:`scenarios.model.EstateModel`: admission and the worker process."""

    def _admit(self, system: int, now: float) -> tuple[str, float]:
        """Would ``system`` take a call now? ``("", 0)`` or (reason, Retry-After seconds)."""
        if self._down_until[system] > now:
            retry_after = self._down_retry_after[system] or (self._down_until[system] - now)
            return "outage", retry_after
        if self._in_flight[system] >= self._conc[system]:
            return "rate_limited", _CONCURRENCY_RETRY_AFTER_S
        rate = self._rate[system]
        if rate:
            tokens = self._tokens[system] + (now - self._refill[system]) * rate
            burst = self._burst[system]
            if tokens > burst:
                tokens = burst
            self._refill[system] = now
            if tokens < 1.0:
                self._tokens[system] = tokens
                return "rate_limited", (1.0 - tokens) / rate
            self._tokens[system] = tokens - 1.0
        return "", 0.0

    def _work(self) -> Generator[simpy.Event, Any, None]:
        """One middleware worker: take a job, make its calls in order, retry or finish."""
        env = self.env
        queue, idle = self._queue, self._idle
        steps_by_flow = self._steps
        in_flight, extra = self._in_flight, self._extra_s
        fault_p, fault_kind = self._fault_p, self._fault_kind
        open_until = self._open_until
        admit, fail, complete = self._admit, self._fail, self._complete
        healthy, later, u = self._healthy, self._later, self._u
        rec = self._rec
        timeout_s = self.spec.middleware.timeout_s
        breaker_jitter_s = min(self.spec.middleware.circuit_breaker.open_s, 5.0)
        commit = self._commit
        while True:
            if queue:
                job = queue.popleft()
            else:
                wake = env.event()
                idle.append(wake)
                job = yield wake
            now = env.now
            rec.wait_sum += now - job[_ENQ]
            rec.waits += 1
            steps = steps_by_flow[job[_FLOW]]
            last = len(steps) - 1
            while True:
                system, service, errors = steps[job[_STEP]]
                if open_until[system] > now:  # breaker open: defer, not an attempt
                    later(open_until[system] - now + breaker_jitter_s * next(u), job, True)
                    rec.deferred += 1
                    break
                reason, retry_after = admit(system, now)
                if reason:
                    fail(job, system, reason, retry_after)
                    break
                dt = next(service) + extra[system]
                outcome = ""
                p = fault_p[system]
                if p and next(u) < p:
                    outcome = fault_kind[system]
                elif errors is not None:  # the operation's own baseline errors
                    x = next(u)
                    if x < errors[1]:
                        outcome = "http_503" if x < errors[0] else "drop"
                if dt > timeout_s:  # the client gives up; the server still commits
                    dt, outcome = timeout_s, outcome or "lost_response"
                in_flight[system] += 1
                yield env.timeout(dt)
                in_flight[system] -= 1
                now = env.now
                if outcome:
                    if outcome == "lost_response" and job[_STEP] == last:
                        commit(job)  # the write committed; only the reply was lost
                    fail(job, system, outcome, 0.0)
                    break
                healthy(system)
                if job[_STEP] == last:
                    complete(job)
                    break
                job[_STEP] += 1
