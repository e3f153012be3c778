"""Prometheus text exposition for ``GET /metrics``.

Hand-written rather than ``prometheus_client``: a handful of counters per app
instance, no global registry to share between in-process simulators, and two dict
operations per request on the hot path.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

__all__ = ["LATENCY_BUCKETS_S", "Metrics"]

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Requests by method, route and status; latency histograms by route; named counters."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.requests: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sums: defaultdict[str, float] = defaultdict(float)
        self.counters: defaultdict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        buckets = self._buckets.get(route)
        if buckets is None:
            buckets = self._buckets[route] = [0] * (len(LATENCY_BUCKETS_S) + 1)
        buckets[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        self._sums[route] += seconds

    def inc(self, name: str, label: str = "", amount: int = 1) -> None:
        self.counters[(name, label)] += amount

    def render(self, gauges: dict[str, float] | None = None) -> str:
        sys_label = f'system="{self.system}"'
        out = [
            "# HELP golive_requests_total Requests received, by method, route and status.",
            "# TYPE golive_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.requests.items()):
            out.append(
                f'golive_requests_total{{{sys_label},method="{method}",route="{route}",'
                f'status="{status}"}} {n}'
            )
        out += [
            "# HELP golive_request_duration_seconds Request latency, by route.",
            "# TYPE golive_request_duration_seconds histogram",
        ]
        for route, buckets in sorted(self._buckets.items()):
            cumulative = 0
            labels = f'{sys_label},route="{route}"'
            for bound, count in zip((*LATENCY_BUCKETS_S, "+Inf"), buckets, strict=True):
                cumulative += count
                out.append(
                    f'golive_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative}'
                )
            out.append(f"golive_request_duration_seconds_sum{{{labels}}} {self._sums[route]:.6f}")
            out.append(f"golive_request_duration_seconds_count{{{labels}}} {cumulative}")
        names = sorted({name for name, _ in self.counters})
        for name in names:
            out.append(f"# TYPE golive_{name}_total counter")
            for (counter, label), total in sorted(self.counters.items()):
                if counter == name:
                    extra = f',kind="{label}"' if label else ""
                    out.append(f"golive_{name}_total{{{sys_label}{extra}}} {total}")
        for gauge, reading in sorted((gauges or {}).items()):
            out.append(f"# TYPE golive_{gauge} gauge")
            out.append(f"golive_{gauge}{{{sys_label}}} {reading}")
        return "\n".join(out) + "\n"
