"""What a live run will do, decided before anything starts: the compressed timeline, the
deals kept from the arrival profile, the fault timeline as control-plane rules, and what
of the scenario file only the simulated mode can use (docs/live-scenarios.md).

Everything here is a pure function of the scenario, the options and the seed, so the
same run can be planned, printed and tested without an estate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from golive.faults import rule_for
from scenarios.profile import arrival_times, expected_deals
from scenarios.spec import FaultRule, ScenarioSpec
from simulators.registry import SYSTEMS

__all__ = [
    "CALENDAR_CYCLE_YEARS",
    "DEFAULT_MAX_DEALS",
    "DEFAULT_SPEED",
    "MAX_WIRE_RATE",
    "FaultWindow",
    "LivePlan",
    "control_rule",
    "estate_shift",
    "given_keys",
    "make_plan",
    "not_applied",
    "wire_rate",
]

DEFAULT_SPEED = 3600.0  # one simulated hour per wall second
DEFAULT_MAX_DEALS = 40
MAX_SPEED = 10_000_000.0
MAX_WIRE_RATE = 100_000.0  # the largest requests_per_s a fault rule takes on the wire
_MODEL_RATE = 1.0  # the model's rate_limit when the file names none (requests per second)
# The Gregorian calendar repeats every 28 years between 1901 and 2099 (same weekday on
# the same date): a past scenario runs that many years later, on an identical calendar.
CALENDAR_CYCLE_YEARS = 28


@dataclass(frozen=True)
class FaultWindow:
    """One fault of the timeline on the wire: when (offsets of the run) and the rule body."""

    system: str
    kind: str
    start_s: float
    end_s: float
    rule: dict[str, Any]
    source: str  # where the scenario file says it: faults[0], events.duplicate_rate


@dataclass
class LivePlan:
    """A live run, planned: times are simulated seconds from the scenario's start."""

    spec: ScenarioSpec
    speed: float
    scale: float
    max_deals: int
    shift_years: int
    expected_deals: float
    drawn: int
    arrivals_s: list[float]
    windows: list[FaultWindow]
    not_applied: list[dict[str, str]] = field(default_factory=list)

    @property
    def horizon_s(self) -> float:
        return self.spec.horizon_s

    @property
    def estate_start(self) -> datetime:
        return _shift(self.spec.start, self.shift_years)

    def estate_time(self, offset_s: float) -> datetime:
        """The estate's instant for an offset of the scenario's timeline."""
        return self.estate_start + timedelta(seconds=offset_s)

    def wall_s(self, offset_s: float) -> float:
        """Wall seconds after the run's start at which ``offset_s`` is due."""
        return offset_s / self.speed

    @property
    def kept_fraction(self) -> float:
        return len(self.arrivals_s) / self.drawn if self.drawn else 0.0

    @property
    def load_factor(self) -> float:
        """Wall-clock load of the run per unit of the file's load: ``speed`` simulated
        seconds pass each wall second, carrying ``kept_fraction`` of the profile's deals."""
        return self.speed * self.kept_fraction

    def describe(self) -> dict[str, Any]:
        return {
            "speed": self.speed,
            "scale": self.scale,
            "max_deals": self.max_deals,
            "expected_deals": round(self.expected_deals, 1),
            "drawn_deals": self.drawn,
            "deals": len(self.arrivals_s),
            "kept_fraction": self.kept_fraction,
            "estate_start": self.estate_start.isoformat().replace("+00:00", "Z"),
            "calendar_shift_years": self.shift_years,
            "planned_wall_s": round(self.wall_s(self.horizon_s), 3),
            "load_factor": self.load_factor,
            "faults": [
                {
                    "system": w.system,
                    "kind": w.kind,
                    "start_s": w.start_s,
                    "end_s": w.end_s,
                    "source": w.source,
                    **({"params": w.rule["params"]} if w.kind == "rate_limit" else {}),
                }
                for w in self.windows
            ],
        }


def _shift(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years) if years else moment


def estate_shift(start: datetime, estate_now: datetime) -> int:
    """Years (a multiple of 28) to move a scenario that starts before the estate's clock,
    which never moves back; 0 when it starts at or after it."""
    years = 0
    while _shift(start, years) < estate_now:
        years += CALENDAR_CYCLE_YEARS
    return years


def _keep(times: np.ndarray, scale: float, max_deals: int, seed: int) -> list[float]:
    """``scale`` thins the arrivals (each kept with that probability, seeded); ``max_deals``
    then keeps that many spread evenly over them, so the profile's shape survives."""
    if scale < 1.0:
        keep = np.random.default_rng(seed + 1).random(times.size) < scale
        times = times[keep]
    if times.size > max_deals:
        index = np.unique(np.round(np.linspace(0, times.size - 1, max_deals)).astype(int))
        times = times[index]
    return [float(t) for t in times]


def wire_rate(params: Mapping[str, Any], load_factor: float) -> dict[str, Any]:
    """A ``rate_limit`` rule's params on the wire of a compressed, thinned run.

    The file's ``requests_per_s`` is a rate against the scenario's whole load on the
    simulated clock (1 when it names none, as the model reads it). Live, that load
    arrives ``load_factor`` (speed x kept fraction) times as fast per wall second, and
    the wire's bucket refills in wall seconds, so the rate is multiplied by it (capped at
    ``MAX_WIRE_RATE``) and the throttle refuses the same share of the offered load. The
    burst is requests taken at once (one deal's calls come together in both modes): it
    stays as written, or the model's default, one second of the file's rate (at least 1).
    docs/live-scenarios.md, "Rate limits under compression"."""
    rate = float(params.get("requests_per_s", _MODEL_RATE))
    out = dict(params)
    out["requests_per_s"] = min(MAX_WIRE_RATE, max(rate * load_factor, 0.001))
    out["burst"] = params.get("burst", max(1, math.ceil(rate)))
    return out


def control_rule(
    rule: FaultRule, plan_start: datetime, seed: int, load_factor: float = 1.0
) -> dict[str, Any]:
    """``POST /_sim/faults`` body of one timeline entry, its window on the estate's clock;
    a ``rate_limit`` rule's rate scaled by the run's ``load_factor`` (:func:`wire_rate`)."""
    start = plan_start + timedelta(minutes=rule.start_offset_minutes)
    end = start + timedelta(minutes=rule.duration_minutes)
    params = dict(rule.params)
    if rule.kind == "rate_limit":
        params = wire_rate(params, load_factor)
    return rule_for(
        rule.kind,
        method=rule.match.get("method"),
        path=rule.match.get("path"),
        client_id=rule.match.get("client_id"),
        probability=rule.probability if rule.probability < 1.0 else None,
        params=params or None,
        start=_z(start),
        end=_z(end),
        seed=seed,
    )


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _windows(spec: ScenarioSpec, estate_start: datetime, load_factor: float) -> list[FaultWindow]:
    out = []
    for i, rule in enumerate(spec.faults):
        start_s = rule.start_offset_minutes * 60.0
        out.append(
            FaultWindow(
                rule.system,
                rule.kind,
                start_s,
                start_s + rule.duration_minutes * 60.0,
                control_rule(rule, estate_start, spec.seed + i, load_factor),
                f"faults[{i}]",
            )
        )
    # The events policy's rates become duplicate / reorder rules on every system's
    # deliveries for the whole run (the model draws them per event, as these do).
    end = _z(estate_start + timedelta(seconds=spec.horizon_s))
    for j, (kind, rate) in enumerate(
        (("duplicate", spec.events.duplicate_rate), ("reorder", spec.events.reorder_rate))
    ):
        if rate <= 0:
            continue
        for k, system in enumerate(SYSTEMS):
            body = rule_for(
                kind,
                probability=rate,
                start=_z(estate_start),
                end=end,
                seed=spec.seed + 1000 * (j + 1) + k,
            )
            out.append(FaultWindow(system, kind, 0.0, spec.horizon_s, body, f"events.{kind}_rate"))
    return out


def make_plan(
    spec: ScenarioSpec,
    *,
    given: Iterable[str] = (),
    speed: float = DEFAULT_SPEED,
    scale: float = 1.0,
    max_deals: int = DEFAULT_MAX_DEALS,
    estate_now: datetime | None = None,
) -> LivePlan:
    """Plan a live run; ValueError (one line, names the option) for a bad speed or volume."""
    if not 0 < speed <= MAX_SPEED:
        raise ValueError(f"--speed must be above 0 and at most {MAX_SPEED:g}, not {speed:g}")
    if not 0 < scale <= 1:
        raise ValueError(f"--scale must be above 0 and at most 1, not {scale:g}")
    if max_deals < 1:
        raise ValueError(f"--max-deals must be at least 1, not {max_deals}")
    duration_s = spec.duration_hours * 3600.0
    times = arrival_times(spec.arrivals, spec.start, duration_s, np.random.default_rng(spec.seed))
    years = estate_shift(spec.start, estate_now or datetime.now(UTC))
    plan = LivePlan(
        spec,
        speed,
        scale,
        max_deals,
        years,
        expected_deals(spec.arrivals, spec.start, duration_s),
        int(times.size),
        _keep(times, scale, max_deals, spec.seed),
        [],
    )
    plan.windows = _windows(spec, plan.estate_start, plan.load_factor)
    plan.not_applied = not_applied(spec, given)
    return plan


_MODEL_ONLY = {
    "middleware.workers": "the middleware under test has its own workers",
    "middleware.timeout_s": "the middleware under test has its own timeouts",
    "middleware.idempotency": "the middleware under test is idempotent or not by its code",
    "middleware.retry": "the middleware under test retries by its own policy",
    "middleware.circuit_breaker": "the middleware under test has its own breaker (or none)",
    "events.webhook_latency_ms": "deliveries take what the loopback wire takes",
    "events.duplicate_delay_s": "a duplicate fault sends the event again at once",
    "events.reorder_delay_s": "a reorder fault holds a delivery behind the next one (<= 1 s)",
    "events.invoice_delay_s": "billing's invoice run decides when invoices come",
    "events.invoice_run": "billing's invoice run bills each period at 00:00 UTC of its end",
    "events.invoice_run_pickup_ms": "the middleware under test takes a batch in at its own pace",
    "events.redelivery_base_delay_s": "the dispatcher retries on its documented schedule",
    "events.redelivery_max_delay_s": "the dispatcher retries on its documented schedule",
}


def given_keys(raw: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted paths a scenario file (or ``--set``) writes: ``middleware.workers``, ..."""
    out = []
    for key, value in raw.items():
        path = f"{prefix}{key}"
        out.append(path)
        if isinstance(value, Mapping):
            out += given_keys(value, f"{path}.")
    return out


def not_applied(spec: ScenarioSpec, given: Iterable[str] = ()) -> list[dict[str, str]]:
    """What a live run cannot use, each with why; ``set_by_file`` marks what the file (or
    ``--set``) wrote itself, so nothing it says is silently ignored."""
    written = set(given)

    def by_file(field_name: str) -> str:
        hit = any(g == field_name or g.startswith(f"{field_name}.") for g in written)
        return str(hit).lower()

    out = []
    data = spec.model_dump(mode="json")
    for key, why in _MODEL_ONLY.items():
        section, name = key.split(".")
        value = data[section][name]
        out.append({"field": key, "value": _text(value), "why": why, "set_by_file": by_file(key)})
    for system, s in spec.systems.items():
        out.append(
            {
                "field": f"systems.{system}",
                "value": _text(s.model_dump(mode="json")),
                "why": "the simulators answer in their own time and throttle by their "
                "own limits (golive.toml [limits]); service times are calibrated from a "
                "live run, not imposed on it",
                "set_by_file": by_file(f"systems.{system}"),
            }
        )
    for flow, f in spec.flows.items():
        out.append(
            {
                "field": f"flows.{flow}.steps",
                "value": _text(f.steps),
                "why": "the middleware under test makes its own calls",
                "set_by_file": by_file(f"flows.{flow}"),
            }
        )
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
