"""SLOs of a load test, checked against the exact final stats of a Locust run.

``[load.slos]`` in golive.toml (all optional)::

    [load.slos]
    p95_ms = 800            # every request type's 95th percentile, in ms (default 1000)
    p99_ms = 2000           # every request type's 99th percentile (default: not checked)
    error_rate = 0.01       # failed / all requests, injected faults excluded (default 0.01)
    min_requests = 100      # fewer requests than this fails the run (default 1)

    [load.slos.p95_ms_by_request]   # per request type, as Locust names it
    "POST cpq /quotes" = 300

Responses that carried the fault marker (``X-Golive-Fault``) are recorded by the
locustfiles under the request name plus `` [fault]``; they count neither towards latency
nor towards the error rate, and the summary lists them apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from golive.errors import UsageProblem

__all__ = ["FAULT_SUFFIX", "LoadSlos", "evaluate", "parse_slos", "percentile"]

FAULT_SUFFIX = " [fault]"  # the locustfiles' marker for responses of injected faults
_KEYS = ("p95_ms", "p99_ms", "error_rate", "min_requests", "p95_ms_by_request")


@dataclass
class LoadSlos:
    """Thresholds a load run must meet; ``None`` switches a check off."""

    p95_ms: float | None = 1000.0
    p99_ms: float | None = None
    error_rate: float | None = 0.01
    min_requests: int = 1
    p95_ms_by_request: dict[str, float] = field(default_factory=dict)


def _number(key: str, value: Any, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise UsageProblem(f"load SLO {key} must be a number >= {low:g}, not {value!r}")
    return float(value)


def parse_slos(table: dict[str, Any], overrides: list[str] | None = None) -> LoadSlos:
    """``[load.slos]`` plus ``--slo key=value`` overrides; a bad key is one line, exit 2."""
    merged: dict[str, Any] = dict(table)
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageProblem(f"--slo {item!r}: expected key=value, e.g. p95_ms=500")
        key = key.strip()
        if "=" in value:
            raise UsageProblem(f"--slo {item!r}: one key=value per --slo; repeat --slo for "
                               "more, e.g. --slo p95_ms=500 --slo error_rate=0.02")  # fmt: skip
        if key.startswith("p95_ms:"):  # --slo "p95_ms:POST cpq /quotes=300"
            by = dict(merged.get("p95_ms_by_request", {}))
            by[key.removeprefix("p95_ms:").strip()] = value
            merged["p95_ms_by_request"] = by
            continue
        merged[key] = None if value.strip().lower() in ("", "none", "off") else value
    slos = LoadSlos()
    for key, value in merged.items():
        if key not in _KEYS:
            raise UsageProblem(f"unknown load SLO {key!r} (known: {', '.join(_KEYS)})")
        if key == "p95_ms_by_request":
            if not isinstance(value, dict):
                raise UsageProblem("load SLO p95_ms_by_request must be a table of name = ms")
            slos.p95_ms_by_request = {
                str(k): _number(f"p95_ms_by_request.{k}", _coerce(v)) for k, v in value.items()
            }
        elif value is None:
            setattr(slos, key, None if key != "min_requests" else 0)
        elif key == "min_requests":
            slos.min_requests = int(_number(key, _coerce(value)))
        elif key == "error_rate":
            slos.error_rate = _number(key, _coerce(value))
            if slos.error_rate > 1:
                raise UsageProblem("load SLO error_rate is a share between 0 and 1")
        else:
            setattr(slos, key, _number(key, _coerce(value)))
    return slos


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def percentile(histogram: dict[int, int], count: int, share: float) -> int:
    """The response time that ``share`` of requests finished within (Locust's own rule)."""
    wanted = int(count * share)
    done = 0
    for rt in sorted(histogram, reverse=True):
        done += histogram[rt]
        if count - done <= wanted:
            return rt
    return 0


def _row(method: str, name: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    hist: dict[int, int] = {}
    requests = failures = total_ms = 0
    max_ms = 0
    for e in entries:
        requests += e["requests"]
        failures += e["failures"]
        total_ms += e["total_response_time_ms"]
        max_ms = max(max_ms, e["max_response_time_ms"] or 0)
        for k, v in e["response_times"].items():
            hist[int(float(k))] = hist.get(int(float(k)), 0) + v
    timed = sum(hist.values())
    return {
        "request": f"{method} {name}".strip(), "method": method, "name": name,
        "requests": requests, "failures": failures,
        "avg_ms": round(total_ms / requests, 1) if requests else 0.0,
        "p50_ms": percentile(hist, timed, 0.50), "p95_ms": percentile(hist, timed, 0.95),
        "p99_ms": percentile(hist, timed, 0.99), "max_ms": round(max_ms),
    }  # fmt: skip


@dataclass
class Check:
    name: str
    metric: str
    value: float
    threshold: float
    passed: bool
    detail: str = ""  # why a check failed without a value (e.g. it matched no request)


def evaluate(result: dict[str, Any], slos: LoadSlos) -> dict[str, Any]:
    """Per-request-type figures, faults apart, and one check per SLO; ``passed`` overall."""
    own = [e for e in result.get("entries", []) if not e["name"].endswith(FAULT_SUFFIX)]
    faulted = [e for e in result.get("entries", []) if e["name"].endswith(FAULT_SUFFIX)]
    rows = sorted((_row(e["method"], e["name"], [e]) for e in own),
                  key=lambda r: (r["name"], r["method"]))  # fmt: skip
    total = _row("", "all requests", own)
    faults = sorted(
        (_row(e["method"], e["name"].removesuffix(FAULT_SUFFIX), [e]) for e in faulted),
        key=lambda r: (r["name"], r["method"]),
    )
    checks: list[Check] = []
    checks.append(Check("requests flowed", "requests", total["requests"], slos.min_requests,
                        total["requests"] >= slos.min_requests))  # fmt: skip
    if slos.error_rate is not None:
        rate = total["failures"] / total["requests"] if total["requests"] else 0.0
        checks.append(Check("error rate (faults excluded)", "error_rate", round(rate, 6),
                            slos.error_rate, rate <= slos.error_rate))  # fmt: skip
    for row in rows:
        limit = slos.p95_ms_by_request.get(row["request"], slos.p95_ms)
        if limit is not None and row["requests"]:
            checks.append(Check(f"p95 {row['request']}", "p95_ms", row["p95_ms"], limit,
                                row["p95_ms"] <= limit))  # fmt: skip
        if slos.p99_ms is not None and row["requests"]:
            checks.append(Check(f"p99 {row['request']}", "p99_ms", row["p99_ms"], slos.p99_ms,
                                row["p99_ms"] <= slos.p99_ms))  # fmt: skip
    unknown = sorted(set(slos.p95_ms_by_request) - {r["request"] for r in rows})
    for name in unknown:  # a typo or a renamed request: never checked, so never passed
        checks.append(Check(f"p95 {name}", "p95_ms", 0.0, slos.p95_ms_by_request[name], False,
                            "matched no request"))  # fmt: skip
    return {
        "passed": all(c.passed for c in checks),
        "total": total,
        "requests": rows,
        "faults": {"requests": sum(f["requests"] for f in faults), "by_request": faults},
        "checks": [asdict(c) for c in checks],
        "slos": asdict(slos),
        "slos_naming_no_request": unknown,
        "errors": sorted(result.get("errors", []), key=lambda e: -e["occurrences"]),
    }
