"""The fault vocabulary: the one list of fault kinds, their params and the rule model.

Scenario files (``scenarios/spec.py``) and the simulators' control plane
(``/_sim/faults``, ``simulators/kit/fault_rules.py``) both import it, so a kind or a
param means the same thing everywhere (docs/faults.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EVENT_KINDS",
    "FAULT_KINDS",
    "LOST_RESPONSE_MODES",
    "PARAMS_BY_KIND",
    "PARAM_BOUNDS",
    "WIRE_KINDS",
    "FaultKind",
    "FaultMatch",
    "FaultSpec",
    "FaultWindow",
    "check_params",
    "default_error_code",
]

FaultKind = Literal[
    "latency", "error", "rate_limit", "outage", "drop", "lost_response", "slow_body",
    "duplicate", "reorder", "delay", "webhook_down",
]  # fmt: skip
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
# What a request meets on the wire, and what only the webhook dispatcher can do.
WIRE_KINDS: tuple[str, ...] = FAULT_KINDS[:7]
EVENT_KINDS: tuple[str, ...] = FAULT_KINDS[7:]
LOST_RESPONSE_MODES = ("error", "timeout")

_DAY_S = 86_400.0
_HOUR_MS = 3_600_000.0

# The params each kind takes: what the scenario model reads plus the wire params.
PARAMS_BY_KIND: dict[str, frozenset[str]] = {
    "latency": frozenset({"extra_ms", "fixed_ms", "min_ms", "max_ms", "p50_ms", "p99_ms"}),
    "error": frozenset({"status", "code"}),
    "rate_limit": frozenset({"requests_per_s", "burst"}),
    "outage": frozenset({"retry_after_s"}),
    "drop": frozenset(),
    "lost_response": frozenset({"mode"}),
    "slow_body": frozenset({"extra_ms"}),
    "duplicate": frozenset(),
    "reorder": frozenset(),
    "delay": frozenset({"delay_s"}),
    "webhook_down": frozenset(),
}

# Numeric params and their sensible range (scenario files and the wire alike).
PARAM_BOUNDS: dict[str, tuple[float, float]] = {
    "status": (400, 599),
    "extra_ms": (0, _HOUR_MS),
    "requests_per_s": (0.001, 100_000),
    "burst": (1, 1_000_000),
    "retry_after_s": (0, _DAY_S),
    "delay_s": (0, _DAY_S),
}
# Numeric params only the wire reads: checked when a rule is posted to /_sim/faults.
_WIRE_BOUNDS: dict[str, tuple[float, float]] = {
    "fixed_ms": (0, _HOUR_MS),
    "min_ms": (0, _HOUR_MS),
    "max_ms": (0, _HOUR_MS),
    "p50_ms": (0, _HOUR_MS),
    "p99_ms": (0, _HOUR_MS),
}
_LATENCY_SHAPES = (("fixed_ms",), ("extra_ms",), ("min_ms", "max_ms"), ("p50_ms", "p99_ms"))
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_METHOD = re.compile(r"^[A-Za-z]{1,16}$")
_DEFAULT_CODES = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable",
                  504: "gateway_timeout", 429: "rate_limit_exceeded"}  # fmt: skip


def default_error_code(status: int) -> str:
    """The ``code`` of an ``error`` fault that names only its status."""
    return _DEFAULT_CODES.get(status, "injected_error")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_bounds(params: dict[str, Any], bounds: dict[str, tuple[float, float]]) -> None:
    for key, value in params.items():
        limits = bounds.get(key)
        if limits is None:
            continue
        low, high = limits
        if not _is_number(value):
            raise ValueError(f"params.{key}: must be a number, not {value!r}")
        if not low <= value <= high:
            raise ValueError(f"params.{key}: must be between {low:g} and {high:g}")


def check_params(kind: str, params: dict[str, Any]) -> None:
    """Refuse a param ``kind`` does not take, or a number out of its range.

    ValueError's message starts with the field (``params.retry_after``), the way
    scenario files and ``/_sim/faults`` both report it.
    """
    takes = PARAMS_BY_KIND[kind]
    for key in params:
        if key not in takes:
            known = ", ".join(sorted(takes)) or "none"
            raise ValueError(f"params.{key}: not a param of kind {kind} (it takes: {known})")
    _check_bounds(params, PARAM_BOUNDS)


def _check_wire_params(kind: str, params: dict[str, Any]) -> None:
    """What the fault engine needs beyond ``check_params``: a whole latency shape, a code."""
    _check_bounds(params, _WIRE_BOUNDS)
    if kind == "latency":
        shapes = [shape for shape in _LATENCY_SHAPES if any(k in params for k in shape)]
        if len(shapes) != 1:
            raise ValueError(
                "params: latency takes one shape: fixed_ms (or extra_ms), min_ms + max_ms "
                "(uniform), or p50_ms + p99_ms (lognormal)"
            )
        for key in shapes[0]:
            if key not in params:
                raise ValueError(f"params.{key}: needed with {' + '.join(shapes[0])}")
        if "max_ms" in params and params["max_ms"] < params["min_ms"]:
            raise ValueError("params.max_ms: must be >= min_ms")
        if "p99_ms" in params:
            if params["p50_ms"] <= 0:
                raise ValueError("params.p50_ms: must be > 0 for a lognormal latency")
            if params["p99_ms"] < params["p50_ms"]:
                raise ValueError("params.p99_ms: must be >= p50_ms")
    elif kind == "error" and "code" in params:
        code = params["code"]
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValueError(
                "params.code: 1 to 64 characters a-z, 0-9 and _, starting with a letter"
            )
    elif kind == "lost_response" and params.get("mode", "error") not in LOST_RESPONSE_MODES:
        raise ValueError(f"params.mode: one of {', '.join(LOST_RESPONSE_MODES)}")
    for key in ("status", "burst"):
        if key in params and not float(params[key]).is_integer():
            raise ValueError(f"params.{key}: must be a whole number")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultMatch(_Strict):
    """Which requests a rule applies to; every part optional (none: every request)."""

    method: str | None = Field(default=None, description="GET, POST, ... (any case).")
    path: str | None = Field(
        default=None,
        max_length=300,
        description="A route template (/sales-orders/{id}) or a glob (/sales-orders/*, "
        "/sales-orders/**): * stays within a path segment, ** crosses them.",
    )
    client_id: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _METHOD.match(value):
            raise ValueError("an HTTP method such as GET or POST")
        return value.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("/") or not value.isprintable() or " " in value:
            raise ValueError("a path starting with /, such as /sales-orders/*")
        if re.fullmatch(r"([^{}]|\{[A-Za-z_][A-Za-z0-9_]*\})*", value) is None:
            raise ValueError("a template names each segment as {name}: /sales-orders/{id}")
        return value


class FaultWindow(_Strict):
    """When a rule may fire, on the simulator's clock: ``start <= now < end``.

    ``duration_s`` sets the end from the start (the start defaults to the moment
    the rule is added); either bound may be left out.
    """

    start: datetime | None = None
    end: datetime | None = None
    duration_s: Annotated[float, Field(gt=0, le=366 * _DAY_S)] | None = None

    @model_validator(mode="after")
    def _check(self) -> FaultWindow:
        for name in ("start", "end"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name}: give a time zone (2026-03-31T09:00:00Z)")
        if self.end is not None and self.duration_s is not None:
            raise ValueError("end: give end or duration_s, not both")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


class FaultSpec(_Strict):
    """One fault rule as ``POST /_sim/faults`` takes it (docs/faults.md)."""

    match: FaultMatch = FaultMatch()
    kind: FaultKind
    probability: Annotated[float, Field(ge=0, le=1)] = 1.0
    params: dict[str, Any] = Field(default_factory=dict)
    window: FaultWindow | None = None
    count: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None

    @model_validator(mode="after")
    def _check_params(self) -> FaultSpec:
        check_params(self.kind, self.params)
        _check_wire_params(self.kind, self.params)
        return self
