"""The scenario file schema: one declarative document that both modes run.

``sim`` reads the estate, middleware and arrival sections; ``live`` (a later issue)
reads the same fault timeline, arrival profile and SLOs and drives the simulators.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lifecycle.faults import FAULT_KINDS, FaultKind, check_params
from lifecycle.limits import VENDOR_LIMITS
from lifecycle.systems import SYSTEMS, SystemName

__all__ = [
    "FAULT_KINDS",
    "FLOWS",
    "SLO_METRICS",
    "SLO_UNITS",
    "SYSTEMS",
    "ArrivalProfile",
    "BusinessHours",
    "CircuitBreakerPolicy",
    "ErrorRates",
    "EventsPolicy",
    "FaultRule",
    "FlowSpec",
    "MiddlewareSpec",
    "OperationSpec",
    "RetryPolicy",
    "ScenarioSpec",
    "Seasonality",
    "Slo",
    "SystemSpec",
    "TimeZoneShare",
]

# The unit of each SLO metric, for tables and reports (a threshold of 9.25 of what?).
SLO_UNITS: dict[str, str] = {
    "latency_p50_s": "s", "latency_p95_s": "s", "latency_p99_s": "s",
    "sla_breach_ratio": "fraction of jobs", "max_backlog": "jobs", "drain_minutes": "min",
    "dead_letters": "jobs", "duplicates_reached": "objects", "retries_per_deal": "retries/deal",
}  # fmt: skip
FlowName = Literal[
    "close_to_order", "order_to_subscription", "order_to_entitlement", "invoice_to_ar_invoice"
]
# The four integration flows the model follows, in the order they happen for a deal.
FLOWS: tuple[FlowName, ...] = (
    "close_to_order", "order_to_subscription", "order_to_entitlement", "invoice_to_ar_invoice",
)  # fmt: skip
SLO_METRICS: tuple[str, ...] = (
    "latency_p50_s", "latency_p95_s", "latency_p99_s", "sla_breach_ratio", "max_backlog",
    "drain_minutes", "dead_letters", "duplicates_reached", "retries_per_deal",
)  # fmt: skip

Probability = Annotated[float, Field(ge=0, le=1)]
# Upper bounds: generous for any real estate, small enough that a typo (1e8 hours, a
# million workers) is refused with the field's name instead of exhausting memory.
_DAY_S = 86_400.0
_YEAR_H = 8_784.0  # a leap year
Milliseconds = Annotated[float, Field(gt=0, le=3_600_000)]  # one call: up to an hour
DelayS = Annotated[float, Field(ge=0, le=_DAY_S)]
PositiveDelayS = Annotated[float, Field(gt=0, le=_DAY_S)]
Count = Annotated[int, Field(ge=1, le=100_000)]
MAX_DEALS = 50_000_000  # arrivals one replication may hold (about 400 bytes per deal)
MAX_SAMPLES = 2_000_000  # backlog samples one replication may record


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorRates(_Strict):
    """Fractions of an operation's calls that fail after their service time (a fitted
    baseline, docs/calibration.md): a 5xx (retried), or a dropped connection."""

    http_5xx: Probability = 0.0
    dropped: Probability = 0.0

    @model_validator(mode="after")
    def _check(self) -> ErrorRates:
        if self.http_5xx + self.dropped > 1:
            raise ValueError("http_5xx + dropped must be <= 1")
        return self


class OperationSpec(_Strict):
    """Service time of one operation: lognormal from p50/p99, exponential, fixed, or an
    empirical table of equally spaced quantiles (``quantiles_ms``: q0, ..., q100)."""

    distribution: Literal["lognormal", "exponential", "fixed", "empirical"] = "lognormal"
    p50_ms: Milliseconds = 200.0
    p99_ms: Milliseconds = 1000.0
    mean_ms: Milliseconds | None = None
    quantiles_ms: Annotated[list[Milliseconds], Field(min_length=2, max_length=1001)] | None = None
    error_rates: ErrorRates = ErrorRates()

    @model_validator(mode="after")
    def _check(self) -> OperationSpec:
        if self.distribution == "lognormal" and self.p99_ms < self.p50_ms:
            raise ValueError("p99_ms must be >= p50_ms")
        if self.distribution in ("exponential", "fixed") and self.mean_ms is None:
            raise ValueError(f"mean_ms is required for distribution {self.distribution!r}")
        if (self.distribution == "empirical") != (self.quantiles_ms is not None):
            raise ValueError("quantiles_ms goes with distribution 'empirical', and only with it")
        q = self.quantiles_ms or []
        if any(b < a for a, b in pairwise(q)):
            raise ValueError("quantiles_ms must not decrease")
        return self


class SystemSpec(_Strict):
    """A system's limits as its vendor class enforces them, and its operations."""

    concurrency_limit: Count = 25
    rate_limit_per_s: Annotated[float, Field(gt=0, le=100_000)] | None = 100.0
    rate_limit_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    operations: dict[str, OperationSpec] = Field(default_factory=dict)


def _vendor(system: SystemName, **operations: OperationSpec) -> SystemSpec:
    """The system's limits as its vendor class enforces them (``lifecycle.limits``)."""
    limits = VENDOR_LIMITS[system]
    assert limits.concurrency is not None
    assert limits.burst is not None
    return SystemSpec(concurrency_limit=limits.concurrency, rate_limit_per_s=limits.rate_per_s,
                      rate_limit_burst=limits.burst, operations=operations)  # fmt: skip


def _default_systems() -> dict[SystemName, SystemSpec]:
    # Salesforce-, Stripe-, Zendesk- and NetSuite-like limits, the same table the
    # simulators throttle by (NetSuite's small concurrency limit is the usual bottleneck).
    op = OperationSpec
    return {
        "crm": _vendor("crm", update_opportunity=op(p50_ms=150, p99_ms=800)),
        "cpq": _vendor("cpq", get_quote=op(p50_ms=80, p99_ms=400)),
        "billing": _vendor("billing", create_subscription=op(p50_ms=250, p99_ms=1200)),
        "support": _vendor("support", create_entitlement=op(p50_ms=150, p99_ms=700)),
        "erp": _vendor("erp", create_order=op(p50_ms=600, p99_ms=3000),
                       create_ar_invoice=op(p50_ms=400, p99_ms=2000)),
    }  # fmt: skip


class FlowSpec(_Strict):
    """One integration flow: the calls the middleware makes, in order, and its SLA."""

    enabled: bool = True
    steps: list[str] = Field(min_length=1, max_length=20)
    sla_s: Annotated[float, Field(gt=0, le=30 * _DAY_S)] = 900.0


def _default_flows() -> dict[FlowName, FlowSpec]:
    return {
        "close_to_order": FlowSpec(steps=["cpq.get_quote", "erp.create_order"], sla_s=900),
        "order_to_subscription": FlowSpec(steps=["billing.create_subscription"], sla_s=900),
        "order_to_entitlement": FlowSpec(steps=["support.create_entitlement"], sla_s=1800),
        "invoice_to_ar_invoice": FlowSpec(steps=["erp.create_ar_invoice"], sla_s=3600),
    }


class RetryPolicy(_Strict):
    """Exponential backoff with jitter; a 429/503 ``Retry-After`` can stretch the wait."""

    max_attempts: Annotated[int, Field(ge=1, le=1_000)] = 6
    retry_base_delay_s: PositiveDelayS = 1.0
    retry_max_delay_s: PositiveDelayS = 300.0
    jitter: Literal["full", "equal", "none"] = "full"
    honour_retry_after: bool = True


class CircuitBreakerPolicy(_Strict):
    """Per system: open after N consecutive failures, probe again after ``open_s``.

    A call refused by an open breaker is deferred, not counted as an attempt.
    """

    enabled: bool = True
    failure_threshold: Count = 5
    open_s: PositiveDelayS = 30.0


class MiddlewareSpec(_Strict):
    """The system under test, as a model: workers, a queue, retries, breaker, idempotency."""

    workers: Annotated[int, Field(ge=1, le=10_000)] = 8
    timeout_s: PositiveDelayS = 30.0
    idempotency: bool = True
    retry: RetryPolicy = RetryPolicy()
    circuit_breaker: CircuitBreakerPolicy = CircuitBreakerPolicy()


class TimeZoneShare(_Strict):
    utc_offset_hours: Annotated[float, Field(ge=-12, le=14)]
    share: Annotated[float, Field(gt=0, le=1_000_000)]


class BusinessHours(_Strict):
    """Deals close in local business hours; other hours and weekends keep a fraction."""

    start_hour: Annotated[int, Field(ge=0, le=23)] = 8
    end_hour: Annotated[int, Field(ge=1, le=24)] = 18
    off_hours_factor: Probability = 0.05
    weekend_factor: Probability = 0.02
    time_zones: list[TimeZoneShare] = Field(
        default_factory=lambda: [
            TimeZoneShare(utc_offset_hours=-5, share=0.5),
            TimeZoneShare(utc_offset_hours=0, share=0.3),
            TimeZoneShare(utc_offset_hours=8, share=0.2),
        ]
    )

    @model_validator(mode="after")
    def _check(self) -> BusinessHours:
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        return self


class Seasonality(_Strict):
    """A multiplier over the last days of a month or quarter: the sales 'hockey stick'."""

    last_days: Annotated[float, Field(gt=0, le=31)] = 3.0
    multiplier: Annotated[float, Field(ge=1, le=1_000)] = 1.0
    shape: Literal["step", "ramp"] = "step"


class ArrivalProfile(_Strict):
    """Closed-won deals per hour: baseline on a business hour, shaped by calendar."""

    baseline_deals_per_hour: Annotated[float, Field(gt=0, le=1_000_000)] = 40.0
    business_hours: BusinessHours | None = BusinessHours()
    month_end: Seasonality = Seasonality(last_days=2, multiplier=1.5)
    quarter_end: Seasonality = Seasonality(last_days=3, multiplier=1.0)


class EventsPolicy(_Strict):
    """How the systems' events reach the middleware (webhooks, at-least-once)."""

    webhook_latency_ms: Annotated[float, Field(ge=0, le=3_600_000)] = 50.0
    duplicate_rate: Probability = 0.0
    duplicate_delay_s: DelayS = 5.0
    reorder_rate: Probability = 0.0
    reorder_delay_s: DelayS = 30.0
    invoice_delay_s: Annotated[float, Field(ge=0, le=31 * _DAY_S)] = 60.0
    # "delay": each invoice ``invoice_delay_s`` after its subscription; "daily": billing's
    # invoice run, which issues at 00:00 UTC, at once, every invoice due by then (the first
    # run at least ``invoice_delay_s`` after the subscription), as the billing simulator's
    # clock does; the middleware then meets them as one batch (docs/calibration.md).
    invoice_run: Literal["delay", "daily"] = "delay"
    # "daily" only: the middleware's first call on a run's batch comes this long after the
    # run (it takes in the batch's deliveries first); every invoice of the batch waits it,
    # its latency still counted from the run. Calibrated from a live month end
    # (docs/calibration.md, "Invoices: billing's invoice run").
    invoice_run_pickup_ms: Annotated[float, Field(ge=0, le=3_600_000)] = 0.0
    redelivery_base_delay_s: PositiveDelayS = 30.0
    redelivery_max_delay_s: PositiveDelayS = 3600.0

    @model_validator(mode="after")
    def _check(self) -> EventsPolicy:
        if self.invoice_run_pickup_ms and self.invoice_run != "daily":
            raise ValueError("invoice_run_pickup_ms goes with invoice_run 'daily' (a batch)")
        return self


class FaultRule(_Strict):
    """One entry of the fault timeline, in the control plane's vocabulary.

    ``match`` and ``params`` pass through to ``/_sim/faults`` in live mode. Params the
    model reads: error ``status``; latency/slow_body ``extra_ms``; rate_limit
    ``requests_per_s`` and ``burst``; outage ``retry_after_s``; delay ``delay_s``.
    A kind takes those plus its wire params of docs/faults.md; any other is refused.
    """

    system: SystemName
    kind: FaultKind
    start_offset_minutes: Annotated[float, Field(ge=0, le=_YEAR_H * 60)]
    duration_minutes: Annotated[float, Field(gt=0, le=_YEAR_H * 60)]
    probability: Probability = 1.0
    match: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_params(self) -> FaultRule:
        check_params(self.kind, self.params)  # the shared vocabulary, lifecycle/faults.py
        return self


class Slo(_Strict):
    """A service level objective: ``metric`` (of one flow, or all) ``<=`` threshold."""

    name: str = Field(min_length=1)
    metric: Literal[
        "latency_p50_s", "latency_p95_s", "latency_p99_s", "sla_breach_ratio", "max_backlog",
        "drain_minutes", "dead_letters", "duplicates_reached", "retries_per_deal",
    ]  # fmt: skip
    flow: FlowName | None = None
    threshold: Annotated[float, Field(ge=0, le=1e12)]


class ScenarioSpec(_Strict):
    """A whole scenario: when, how much traffic, what breaks, what must still hold."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0  # the model draws from 32 bits
    start: datetime = datetime(2026, 3, 18, tzinfo=UTC)
    duration_hours: Annotated[float, Field(gt=0, le=_YEAR_H)] = 336.0
    drain_hours: Annotated[float, Field(ge=0, le=31 * 24)] = 24.0
    sample_interval_s: Annotated[float, Field(ge=1, le=_DAY_S)] = 300.0
    arrivals: ArrivalProfile = ArrivalProfile()
    events: EventsPolicy = EventsPolicy()
    systems: dict[SystemName, SystemSpec] = Field(default_factory=_default_systems)
    flows: dict[FlowName, FlowSpec] = Field(default_factory=_default_flows)
    middleware: MiddlewareSpec = MiddlewareSpec()
    faults: list[FaultRule] = Field(default_factory=list)
    slos: list[Slo] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        # A file names only the systems and flows it changes; the rest keep their defaults.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, defaults in (("systems", _default_systems()), ("flows", _default_flows())):
            given = data.get(key)
            if isinstance(given, dict):
                merged: dict[str, Any] = {k: v.model_dump() for k, v in defaults.items()}
                for name, value in given.items():
                    if name in merged and isinstance(value, dict):
                        base = dict(merged[name])
                        ops = value.get("operations")
                        if isinstance(ops, dict):
                            value = {**value, "operations": {**base["operations"], **ops}}
                        merged[name] = {**base, **value}
                    else:
                        merged[name] = value
                data[key] = merged
        return data

    @model_validator(mode="after")
    def _check_steps(self) -> ScenarioSpec:
        known = {
            f"{name}.{op}" for name, system in self.systems.items() for op in system.operations
        }
        for flow, spec in self.flows.items():
            for i, step in enumerate(spec.steps):
                if step not in known:
                    raise ValueError(
                        f"flows.{flow}.steps.{i}: {step!r} is not a known system.operation"
                    )
        return self

    @model_validator(mode="after")
    def _check_size(self) -> ScenarioSpec:
        # Per-field bounds leave products that no replication can hold in memory.
        horizon_min = self.horizon_s / 60.0
        for i, rule in enumerate(self.faults):
            if rule.start_offset_minutes >= horizon_min:
                raise ValueError(
                    f"faults.{i}.start_offset_minutes: {rule.start_offset_minutes:g} is after "
                    f"the end of the run ({horizon_min:g} minutes of arrivals and drain)"
                )
        a = self.arrivals
        peak = a.baseline_deals_per_hour * max(a.month_end.multiplier, a.quarter_end.multiplier)
        if peak * self.duration_hours > MAX_DEALS:
            raise ValueError(
                f"arrivals.baseline_deals_per_hour: {a.baseline_deals_per_hour:g} deals/h at up "
                f"to {peak:g}/h over duration_hours {self.duration_hours:g} could exceed "
                f"{MAX_DEALS:,} deals in one replication"
            )
        if self.horizon_s / self.sample_interval_s > MAX_SAMPLES:
            raise ValueError(
                f"sample_interval_s: {self.sample_interval_s:g} s over "
                f"{self.horizon_s / 3600:g} h records more than {MAX_SAMPLES:,} samples"
            )
        return self

    @property
    def horizon_s(self) -> float:
        """Simulated seconds: the arrival window plus the drain period after it."""
        return (self.duration_hours + self.drain_hours) * 3600.0
