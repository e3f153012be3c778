"""Fault windows of the timeline applied to the model, and the backlog sampler.

Each rule of the scenario's fault timeline becomes one SimPy process that switches a
per-system setting on at its start offset and back at its end.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from scenarios import events as ev
from scenarios._state import EstateState
from scenarios.spec import SYSTEMS, FaultRule

__all__ = ["Faults"]

_DEFAULT_OUTAGE_RETRY_AFTER_S = 60.0
_DEFAULT_EXTRA_MS = 1000.0
_DEFAULT_DELAY_S = 60.0


class Faults(EstateState):
    """Mixin of :class:`scenarios.model.EstateModel`: fault windows and sampling."""

    def _switch(self, rule: FaultRule, on: bool) -> None:
        s, kind, params = SYSTEMS.index(rule.system), rule.kind, rule.params
        m = self
        end = self.env.now + rule.duration_minutes * 60.0 if on else 0.0
        if kind == "outage":
            m._down_until[s] = end
            m._down_retry_after[s] = float(
                params.get("retry_after_s", _DEFAULT_OUTAGE_RETRY_AFTER_S)
            )
        elif kind in ("error", "drop", "lost_response"):
            m._fault_p[s] = rule.probability if on else 0.0
            m._fault_kind[s] = f"http_{int(params.get('status', 503))}" if kind == "error" else kind
        elif kind in ("latency", "slow_body"):
            extra = float(params.get("extra_ms", _DEFAULT_EXTRA_MS)) / 1000.0
            m._extra_s[s] += extra if on else -extra
        elif kind == "rate_limit":
            base = self.spec.systems[rule.system]
            m._rate[s] = (
                float(params.get("requests_per_s", 1.0)) if on else (base.rate_limit_per_s or 0.0)
            )
            m._burst[s] = float(params.get("burst", m._rate[s])) if on else base.rate_limit_burst
            m._tokens[s] = min(m._tokens[s], m._burst[s])
        elif kind == "duplicate":
            m._dup_p[s] = rule.probability if on else self.spec.events.duplicate_rate
        elif kind == "reorder":
            m._reorder_p[s] = rule.probability if on else self.spec.events.reorder_rate
        elif kind == "delay":
            m._delay_s[s] = float(params.get("delay_s", _DEFAULT_DELAY_S)) if on else 0.0
        elif kind == "webhook_down":
            m._hook_down_until[s] = end

    def _fault_window(self, rule: FaultRule) -> Generator[simpy.Event, Any, None]:
        env, rec, emit = self.env, self._rec, self._emit
        yield env.timeout(rule.start_offset_minutes * 60.0)
        duration_s = rule.duration_minutes * 60.0
        self._switch(rule, True)
        rec.timeline.append((env.now, f"{rule.kind}_started", rule.system, duration_s))
        rec.fault_windows.append((env.now, env.now + duration_s))
        if emit:
            emit(ev.OutageStarted(env.now, rule.system, duration_s) if rule.kind == "outage"
                 else ev.FaultStarted(env.now, rule.system, rule.kind))  # fmt: skip
        yield env.timeout(duration_s)
        self._switch(rule, False)
        rec.timeline.append((env.now, f"{rule.kind}_ended", rule.system, 0.0))
        if emit:
            emit(ev.OutageEnded(env.now, rule.system) if rule.kind == "outage"
                 else ev.FaultEnded(env.now, rule.system, rule.kind))  # fmt: skip

    def _sample(self) -> Generator[simpy.Event, Any, None]:
        """Every ``sample_interval_s``: where the estate's unfinished work is."""
        env, rec = self.env, self._rec
        step = self.spec.sample_interval_s
        times, backlog, upstream = rec.sample_t, rec.backlog, rec.upstream
        queued, waiting, done = rec.queued, rec.retry_waiting, rec.completed
        while True:
            times.append(env.now)
            backlog.append(self._in_system)
            upstream.append(self._upstream)
            queued.append(len(self._queue))
            waiting.append(self._retry_waiting)
            done.append(self._done)
            yield env.timeout(step)
