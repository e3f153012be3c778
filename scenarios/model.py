"""The SimPy estate model: deals arrive, systems emit webhooks, middleware workers call
the five systems through rate limits, outages, retries and circuit breakers.

Built for speed (target 10 of docs/benchmarks.md): jobs are small lists, random numbers are
drawn in numpy batches, metrics go into preallocated arrays and are summarised once.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any, cast

import numpy as np
import simpy

from lifecycle.systems import SYSTEMS, SystemName
from scenarios import events as ev
from scenarios._faults import Faults
from scenarios._state import Job, Step
from scenarios._worker import Workers
from scenarios.profile import arrival_times
from scenarios.result import ReplicationResult, RunRecord, summarise
from scenarios.spec import FLOWS, FlowName, OperationSpec, ScenarioSpec

__all__ = ["DOWNSTREAM", "ISSUED_LATER", "SOURCE", "EstateModel", "simulate"]

_BATCH = 65_536
_Z99 = 2.3263478740408408  # standard normal quantile at 0.99
_DAY_S = 86_400.0
# Job slots (a list per delivery is the cheapest mutable record in CPython).
_FLOW, _DEAL, _EMITTED, _ENQ, _FIRST, _STEP, _ATTEMPT, _DUP = range(8)

# The system whose event starts each flow.
SOURCE: dict[FlowName, SystemName] = {
    "close_to_order": "crm",  # the opportunity is closed-won
    "order_to_subscription": "erp",  # the sales order is booked
    "order_to_entitlement": "erp",
    "invoice_to_ar_invoice": "billing",  # the subscription's invoice is issued
}
# Flows started when a flow creates its object for the first time.
DOWNSTREAM: dict[FlowName, tuple[FlowName, ...]] = {
    "close_to_order": ("order_to_subscription", "order_to_entitlement"),
    "order_to_subscription": ("invoice_to_ar_invoice",),
    "order_to_entitlement": (),
    "invoice_to_ar_invoice": (),
}
# Flows whose starting event the system emits later: billing's invoice run issues the
# first invoice ``events.invoice_delay_s`` after the subscription is created (with
# ``events.invoice_run: daily``, at the next 00:00 UTC after that, with the day's others).
ISSUED_LATER: frozenset[FlowName] = frozenset({"invoice_to_ar_invoice"})

# The same tables by flow index, for the hot path.
_SOURCE = [SYSTEMS.index(SOURCE[f]) for f in FLOWS]
_NEXT = [tuple(FLOWS.index(n) for n in DOWNSTREAM[f] if n not in ISSUED_LATER) for f in FLOWS]
_NEXT_LATER = [tuple(FLOWS.index(n) for n in DOWNSTREAM[f] if n in ISSUED_LATER) for f in FLOWS]
_ENTRY_FLOW = FLOWS.index("close_to_order")  # every deal starts here
_NON_RETRYABLE = {400, 401, 403, 404, 409, 412, 422}


def _stream(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    while True:
        yield from draw(_BATCH).tolist()


def _service_stream(op: OperationSpec, rng: np.random.Generator) -> Iterator[float]:
    mean_s = (op.mean_ms or 0.0) / 1000.0  # set for fixed and exponential (validated)
    if op.distribution == "fixed":
        return _stream(lambda n: np.full(n, mean_s))
    if op.distribution == "exponential":
        return _stream(lambda n: rng.exponential(mean_s, n))
    if op.distribution == "empirical":  # inverse CDF, linear between the table's quantiles
        table = np.asarray(op.quantiles_ms or (), dtype=np.float64) / 1000.0
        grid = np.linspace(0.0, 1.0, len(table))
        return _stream(lambda n: np.interp(rng.random(n), grid, table))
    mu = math.log(op.p50_ms / 1000.0)
    sigma = (math.log(op.p99_ms) - math.log(op.p50_ms)) / _Z99
    return _stream(lambda n: rng.lognormal(mu, sigma, n))


class EstateModel(Workers, Faults):
    """One replication of a scenario. Call :meth:`run` once; it returns a result."""

    def __init__(self, spec: ScenarioSpec, seed: int, listener: ev.Listener | None = None):
        self.spec = spec
        self.env = simpy.Environment()
        self._emit = listener
        seq = np.random.SeedSequence([spec.seed & 0xFFFFFFFF, seed & 0xFFFFFFFF])
        arrival_rng, uniform_rng, *op_rngs = (np.random.default_rng(s) for s in seq.spawn(16))
        self._u = _stream(uniform_rng.random)
        self.arrivals = arrival_times(
            spec.arrivals, spec.start, spec.duration_hours * 3600.0, arrival_rng
        )
        n_sys = len(SYSTEMS)
        # Operations: one seeded stream each, so a changed parameter elsewhere leaves
        # their draws alone (common random numbers across sweep points).
        self._steps: list[list[Step]] = []
        streams: dict[str, Iterator[float]] = {}
        ops = sorted((f"{s}.{o}", op) for s, ss in spec.systems.items()
                     for o, op in ss.operations.items())  # fmt: skip
        for name, op_spec in ops:
            rng = op_rngs[len(streams) % len(op_rngs)]
            streams[name] = _service_stream(op_spec, rng)
        for flow in FLOWS:
            fspec = spec.flows[flow]
            self._steps.append([(_system_index(s), streams[s], _errors(spec, s))
                                for s in fspec.steps])  # fmt: skip
        self._enabled = [spec.flows[f].enabled for f in FLOWS]
        self._sla = [spec.flows[f].sla_s for f in FLOWS]
        sys_specs = [spec.systems[s] for s in SYSTEMS]
        self._conc = [s.concurrency_limit for s in sys_specs]
        self._rate = [s.rate_limit_per_s or 0.0 for s in sys_specs]
        self._burst = [float(s.rate_limit_burst) for s in sys_specs]
        self._tokens = list(self._burst)
        self._refill = [0.0] * n_sys
        self._in_flight = [0] * n_sys
        self._down_until = [0.0] * n_sys
        self._down_retry_after = [0.0] * n_sys
        self._extra_s = [0.0] * n_sys
        self._fault_p = [0.0] * n_sys  # probability of error/drop/lost_response
        self._fault_kind = [""] * n_sys
        self._fault_status = [503] * n_sys
        self._dup_p = [spec.events.duplicate_rate] * n_sys
        self._reorder_p = [spec.events.reorder_rate] * n_sys
        self._delay_s = [0.0] * n_sys
        self._hook_down_until = [0.0] * n_sys
        self._fails = [0] * n_sys
        self._open_until = [0.0] * n_sys
        self._is_open = [False] * n_sys
        self._queue = deque()
        self._idle = []
        n = len(self.arrivals)
        self._lat = [array("d", bytes(8 * n)) for _ in FLOWS]
        self._created = [bytearray(n) for _ in FLOWS]
        self._rec = RunRecord.empty(len(FLOWS), n_sys)
        self._in_system = 0
        self._upstream = 0
        # Drain: every job in the estate when the last fault window ends must finish.
        ends = [(f.start_offset_minutes + f.duration_minutes) * 60.0 for f in spec.faults]
        self._recovery_s = max(ends, default=-1.0)
        self._held = 0  # jobs emitted by then and not finished yet
        self._retry_waiting = 0
        self._area = 0.0
        self._area_t = 0.0
        self._done = 0
        self._window: tuple[float, int] | None = None  # (area, done) when arrivals stop
        self._start_epoch = spec.start.timestamp()  # UTC midnights are multiples of a day
        self._pickup_s = spec.events.invoice_run_pickup_ms / 1000.0  # "daily" only (spec)

    # -- events in, jobs queued ---------------------------------------------------

    def _count_in(self, delta: int, now: float | None = None) -> None:
        if now is None:
            now = self.env.now
        self._area += self._in_system * (now - self._area_t)
        self._area_t = now
        self._in_system += delta

    def _enqueue(self, job: Job) -> None:
        job[_ENQ] = self.env.now
        if self._idle:
            self._idle.pop().succeed(job)
        else:
            self._queue.append(job)

    def _on_delivered(self, event: simpy.Event) -> None:
        self._upstream -= 1
        self._enqueue(cast(Job, event.value))

    def _on_retry_due(self, event: simpy.Event) -> None:
        self._retry_waiting -= 1
        self._enqueue(cast(Job, event.value))

    def _later(self, delay: float, job: Job, retry: bool = False) -> None:
        t = self.env.timeout(delay, job)
        t.callbacks.append(self._on_retry_due if retry else self._on_delivered)
        if retry:
            self._retry_waiting += 1
        else:  # a webhook on its way, or held by the system's redelivery backoff
            self._upstream += 1
            self._count_in(1)  # in the estate from the moment the system emitted it
            if self.env.now <= self._recovery_s:
                self._held += 1

    def _deliver(self, flow: int, deal: int, emitted: float, pickup_s: float = 0.0) -> None:
        """A system emitted the event that starts ``flow``: webhook it to the middleware,
        which takes it up ``pickup_s`` after the wire delivered it (a batch's intake)."""
        if not self._enabled[flow]:
            return
        src = _SOURCE[flow]
        now = self.env.now
        u = self._u
        delay = self.spec.events.webhook_latency_ms / 1000.0 + self._delay_s[src] + pickup_s
        down = self._hook_down_until[src]
        if down > now:  # the simulator's own redelivery backoff carries it past the window
            step, waited = self.spec.events.redelivery_base_delay_s, 0.0
            while now + waited < down:
                waited += step
                step = min(step * 2, self.spec.events.redelivery_max_delay_s)
            delay += waited
        if self._reorder_p[src] and next(u) < self._reorder_p[src]:
            delay += self.spec.events.reorder_delay_s
            self._rec.reordered[flow] += 1
        self._later(delay, [flow, deal, emitted, 0.0, now, 0, 0, False])
        if self._dup_p[src] and next(u) < self._dup_p[src]:
            self._rec.duplicates_delivered[flow] += 1
            dup = [flow, deal, emitted, 0.0, now, 0, 0, True]
            self._later(delay + self.spec.events.duplicate_delay_s, dup)

    def _arrive(self) -> Generator[simpy.Event, Any, None]:
        env, prev = self.env, 0.0
        for deal, t in enumerate(self.arrivals.tolist()):
            yield env.timeout(t - prev)
            prev = t
            self._deliver(_ENTRY_FLOW, deal, t)

    def _issued_later(self, event: simpy.Event) -> None:
        """Billing's invoice run issued an invoice; with ``invoice_run: daily`` the
        middleware takes the run's batch up ``invoice_run_pickup_ms`` later."""
        flow, deal = cast(tuple[int, int], event.value)
        self._deliver(flow, deal, self.env.now, self._pickup_s)

    # -- outcomes -------------------------------------------------------------------

    def _finish(self, job: Job, dead: bool) -> None:
        self._count_in(-1)
        now = self.env.now
        self._rec.sojourn_sum += now - job[_FIRST]
        self._done += 1
        if job[_FIRST] <= self._recovery_s:
            self._held -= 1
            self._rec.drained_at_s = now

    def _commit(self, job: Job) -> None:
        """The target system created the flow's object: first time, or a duplicate."""
        flow, deal = job[_FLOW], job[_DEAL]
        now = self.env.now
        created = self._created[flow]
        if created[deal]:
            if not self.spec.middleware.idempotency:
                self._rec.duplicates_reached[flow] += 1
                if self._emit:
                    sys_name = SYSTEMS[self._steps[flow][-1][0]]
                    self._emit(ev.DuplicateReachedSystem(now, FLOWS[flow], sys_name, deal))
            return
        created[deal] = 1
        self._lat[flow][deal] = now - job[_EMITTED]
        # The system emits its own events now (or, for ISSUED_LATER, after its delay);
        # they start the downstream flows.
        for nxt in _NEXT[flow]:
            self._deliver(nxt, deal, now)
        for nxt in _NEXT_LATER[flow]:
            if self._enabled[nxt]:
                t = self.env.timeout(self._invoice_wait(now), (nxt, deal))
                t.callbacks.append(self._issued_later)

    def _invoice_wait(self, now: float) -> float:
        """Seconds from a subscription created at ``now`` to its invoice: the delay, or
        with ``invoice_run: daily`` on to the next 00:00 UTC (billing's invoice run)."""
        delay = self.spec.events.invoice_delay_s
        if self.spec.events.invoice_run == "delay":
            return delay
        due = self._start_epoch + now + delay
        return math.ceil(due / _DAY_S) * _DAY_S - self._start_epoch - now

    def _complete(self, job: Job) -> None:
        self._commit(job)
        self._finish(job, False)

    def _fail(self, job: Job, system: int, reason: str, retry_after: float) -> None:
        rec, mw, now = self._rec, self.spec.middleware, self.env.now
        flow = job[_FLOW]
        if reason != "rate_limited":
            self._trip(system)
        job[_ATTEMPT] += 1
        attempt = job[_ATTEMPT]
        policy = mw.retry
        if attempt >= policy.max_attempts or reason.startswith("http_4"):
            rec.dead_letters[flow] += 1
            if self._emit:
                self._emit(ev.DeadLettered(now, FLOWS[flow], job[_DEAL], reason))
            self._finish(job, True)
            return
        delay = min(policy.retry_max_delay_s, policy.retry_base_delay_s * 2.0 ** (attempt - 1))
        if policy.jitter == "full":
            delay *= next(self._u)
        elif policy.jitter == "equal":
            delay = delay / 2 + delay / 2 * next(self._u)
        if policy.honour_retry_after and retry_after > delay:
            delay = retry_after
        rec.retries[flow] += 1
        if self._emit:
            self._emit(
                ev.DeliveryRetried(now, FLOWS[flow], SYSTEMS[system], attempt, delay, reason)
            )
        self._later(delay, job, retry=True)

    def _trip(self, system: int) -> None:
        cb = self.spec.middleware.circuit_breaker
        if not cb.enabled:
            return
        self._fails[system] += 1
        if self._fails[system] >= cb.failure_threshold:
            now = self.env.now
            self._open_until[system] = now + cb.open_s
            self._fails[system] = cb.failure_threshold - 1  # half-open: one failure reopens
            if not self._is_open[system]:
                self._is_open[system] = True
                self._rec.circuit_opened[system] += 1
                self._rec.timeline.append((now, "circuit_opened", SYSTEMS[system], 0.0))
                if self._emit:
                    self._emit(ev.CircuitOpened(now, SYSTEMS[system]))

    def _healthy(self, system: int) -> None:
        self._fails[system] = 0
        if self._is_open[system]:
            self._is_open[system] = False
            now = self.env.now
            self._rec.timeline.append((now, "circuit_closed", SYSTEMS[system], 0.0))
            if self._emit:
                self._emit(ev.CircuitClosed(now, SYSTEMS[system]))

    def run(self, replication: int = 0, point: int = 0) -> ReplicationResult:
        """Simulate the horizon (arrivals plus drain) and summarise what happened."""
        env, spec = self.env, self.spec
        env.process(self._arrive())
        for _ in range(spec.middleware.workers):
            env.process(self._work())
        for rule in spec.faults:
            env.process(self._fault_window(rule))
        env.process(self._sample())
        horizon = spec.horizon_s
        window_end = env.timeout(spec.duration_hours * 3600.0)
        window_end.callbacks.append(self._arrivals_over)
        # env.run(until=...) with the events counted, through SimPy's public API.
        peek, step, sim_events = env.peek, env.step, 0
        while peek() < horizon:
            step()
            sim_events += 1
        self._count_in(0, horizon)
        if self._window is None:  # no drain period: the window ends at the horizon
            self._window = (self._area, self._done)
        if self._recovery_s >= 0:
            rec = self._rec
            rec.drained_at_s = math.inf if self._held else max(rec.drained_at_s, self._recovery_s)
            rec.drain_s = rec.drained_at_s - self._recovery_s
        lat = [np.frombuffer(a, dtype=np.float64) for a in self._lat]
        created = [np.frombuffer(c, dtype=np.uint8).astype(bool) for c in self._created]
        window_area, window_done = self._window
        areas = (window_area, self._area - window_area)
        done = (window_done, self._done - window_done)
        return summarise(
            spec, self._rec, lat, created, self.arrivals, horizon, sim_events, areas, done,
            replication, point,
        )  # fmt: skip

    def _arrivals_over(self, _event: simpy.Event) -> None:
        self._count_in(0)
        self._window = (self._area, self._done)


def _errors(spec: ScenarioSpec, step: str) -> tuple[float, float] | None:
    """An operation's fitted error rates as cumulative thresholds (5xx, then dropped)."""
    system, _, op = step.partition(".")
    rates = spec.systems[cast(SystemName, system)].operations[op].error_rates
    if not (rates.http_5xx or rates.dropped):
        return None
    return rates.http_5xx, rates.http_5xx + rates.dropped


def _system_index(step: str) -> int:
    system = step.partition(".")[0]
    return SYSTEMS.index(cast(SystemName, system))


def simulate(spec: ScenarioSpec, replication: int = 0, point: int = 0,
             listener: ev.Listener | None = None) -> ReplicationResult:  # fmt: skip
    """Run one seeded replication of ``spec``; the seed is ``(spec.seed, replication)``."""
    return EstateModel(spec, replication, listener).run(replication, point)
