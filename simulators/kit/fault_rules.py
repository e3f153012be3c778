"""The fault rules of one simulator: which request a rule matches, and whether it fires.

Rules are tried in the order they were added and the first that fires decides (a
request meets at most one fault). Each rule draws from its own seeded generator, so
the same seed and the same requests fire the same faults (docs/faults.md).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import time
from typing import Any

from lifecycle.faults import EVENT_KINDS, FaultSpec, default_error_code
from simulators.kit.clock import SimClock, format_timestamp
from simulators.kit.metrics import Metrics

__all__ = ["MAX_RULES", "ActiveRule", "FaultBook", "compile_path"]

MAX_RULES = 1000  # a control plane, not a database: enough for any scenario
_Z99 = 2.3263478740408408  # the standard normal's 99th percentile
_MAX_DELAY_S = 3600.0


def compile_path(pattern: str) -> re.Pattern[str]:
    """A route template or glob as a regex: ``{id}`` and ``*`` stay within a segment."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            i = pattern.index("}", i)
            out.append("[^/]+")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else format_timestamp(timestamp)


class ActiveRule:
    """A rule as the engine uses it: compiled match, window bounds, counter, generator."""

    def __init__(self, rule_id: str, spec: FaultSpec, seed: int, now: float) -> None:
        self.id = rule_id
        self.spec = spec
        self.kind: str = spec.kind
        self.params = spec.params
        self.method = spec.match.method
        self.path = compile_path(spec.match.path) if spec.match.path else None
        self.client_id = spec.match.client_id
        self.seed = seed
        self.rng = random.Random(seed)
        self.fired = 0
        self.created_at = now
        window = spec.window
        self.start: float | None = None
        self.end: float | None = None
        if window is not None:
            self.start = window.start.timestamp() if window.start else None
            if window.duration_s is not None:
                self.start = self.start if self.start is not None else now
                self.end = self.start + window.duration_s
            elif window.end is not None:
                self.end = window.end.timestamp()
        rate = spec.params.get("requests_per_s") if self.kind == "rate_limit" else None
        self.rate: float | None = float(rate) if rate is not None else None
        self.burst = float(spec.params.get("burst", max(1, math.ceil(self.rate or 1))))
        self._tokens = self.burst
        self._filled_at = time.monotonic()

    def live(self, now: float) -> bool:
        """Whether the rule may still fire at simulated time ``now``."""
        if self.spec.count is not None and self.fired >= self.spec.count:
            return False
        if self.start is not None and now < self.start:
            return False
        return self.end is None or now < self.end

    def out_of_tokens(self) -> bool:
        """Take a token from a rate_limit rule's bucket; True when there was none.

        The bucket refills in real time (a request rate is a real-time quantity), so a
        frozen simulator clock does not lock a client out for good.
        """
        assert self.rate is not None
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._filled_at) * self.rate)
        self._filled_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return False
        return True

    def retry_after_s(self, now: float) -> int:
        """Seconds a refused client should wait (``Retry-After``), at least 1."""
        if self.kind == "rate_limit":
            wait = (1 - self._tokens) / self.rate if self.rate else 1.0
        elif "retry_after_s" in self.params:
            wait = float(self.params["retry_after_s"])
        elif self.end is not None:
            wait = self.end - now
        else:
            wait = 60.0
        return max(1, math.ceil(wait))

    def delay_s(self) -> float:
        """A latency fault's delay, drawn from the rule's generator; slow_body's spread."""
        p = self.params
        if "p50_ms" in p:
            mu = math.log(p["p50_ms"])
            sigma = (math.log(p["p99_ms"]) - mu) / _Z99
            ms = math.exp(self.rng.gauss(mu, sigma)) if sigma > 0 else p["p50_ms"]
        elif "min_ms" in p:
            ms = self.rng.uniform(p["min_ms"], p["max_ms"])
        else:
            ms = p.get("fixed_ms", p.get("extra_ms", 1000.0))
        return min(_MAX_DELAY_S, float(ms) / 1000.0)

    def error(self) -> tuple[int, str]:
        status = int(self.params.get("status", 500))
        return status, str(self.params.get("code") or default_error_code(status))

    def as_json(self, now: float) -> dict[str, Any]:
        spec = self.spec
        return {
            "id": self.id, "kind": self.kind,
            "match": spec.match.model_dump(exclude_none=True),
            "probability": spec.probability, "params": dict(spec.params),
            "window": {"start": _iso(self.start), "end": _iso(self.end)},
            "count": spec.count, "seed": self.seed, "fired": self.fired,
            "active": self.live(now), "created_at": _iso(self.created_at),
        }  # fmt: skip


class FaultBook:
    """The rules of one simulator. ``rules`` is empty when no fault is set: the engine's
    one check on the request path."""

    def __init__(self, seed: int, clock: SimClock, metrics: Metrics) -> None:
        self.rules: list[ActiveRule] = []
        self.enabled = True  # False when the simulator runs without its fault engine
        self.needs_client = False
        self._seed = seed
        self._clock = clock
        self._metrics = metrics
        self._number = 0

    def add(self, spec: FaultSpec) -> ActiveRule:
        """Add a rule (at most MAX_RULES: ValueError past it)."""
        if len(self.rules) >= MAX_RULES:
            raise ValueError(f"a simulator holds at most {MAX_RULES} fault rules")
        self._number += 1
        seed = spec.seed if spec.seed is not None else self._derived_seed(self._number)
        rule = ActiveRule(f"flt_{self._number:06d}", spec, seed, self._clock.timestamp())
        self.rules.append(rule)
        self.needs_client = self.needs_client or rule.client_id is not None
        return rule

    def _derived_seed(self, number: int) -> int:
        # Stable across runs and machines (not hash()): the simulator's seed and the rule's
        # place in the order rules were added since the last reset.
        digest = hashlib.sha256(f"golive-fault:{self._seed}:{number}".encode()).digest()
        return int.from_bytes(digest[:8], "big") >> 11  # 53 bits: exact in any JSON reader

    def remove(self, rule_id: str) -> bool:
        kept = [r for r in self.rules if r.id != rule_id]
        found = len(kept) != len(self.rules)
        self.rules = kept
        self.needs_client = any(r.client_id is not None for r in kept)
        return found

    def clear(self) -> None:
        """Remove every rule; the ids (and so the derived seeds) start again."""
        self.rules = []
        self.needs_client = False
        self._number = 0

    def listing(self) -> list[dict[str, Any]]:
        now = self._clock.timestamp()
        return [rule.as_json(now) for rule in self.rules]

    def pick(
        self, method: str, path: str, client_id: str | None, *, delivery: bool = False
    ) -> ActiveRule | None:
        """The rule that fires for this request, counted and measured; None if none does.

        ``delivery``: a webhook delivery (method POST, the receiver URL's path) meets the
        event kinds; a request meets the wire kinds.
        """
        now = self._clock.timestamp()
        for rule in self.rules:
            if (rule.kind in EVENT_KINDS) is not delivery or not rule.live(now):
                continue
            if rule.method is not None and rule.method != method:
                continue
            if rule.path is not None and rule.path.match(path) is None:
                continue
            if rule.client_id is not None and rule.client_id != client_id:
                continue
            if rule.rate is not None and not rule.out_of_tokens():
                continue
            probability = rule.spec.probability
            if probability < 1 and rule.rng.random() >= probability:
                continue
            rule.fired += 1
            self._metrics.inc("faults_fired", rule.kind)
            return rule
        return None
