"""Fault rules on running simulators, through their ``/_sim/faults`` (docs/faults.md).

What ``golive fault`` and the ``golive_faults`` pytest fixture call: durations as
people write them (``30m``, ``200ms``), a rule built from a command line's options,
and a small client that adds, lists and removes rules per system.
"""

from __future__ import annotations

import os
import re
from typing import Any

import httpx

from golive.errors import UsageProblem
from lifecycle.faults import FAULT_KINDS
from simulators.kit.credentials import ADMIN_TOKEN_ENV

__all__ = [
    "FaultClient",
    "FaultRefused",
    "Unreachable",
    "admin_headers",
    "parse_duration",
    "rule_for",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (``200ms``, ``2s``, ``1.5s``, ``30m``, ``1h``, ``2d``).

    ValueError, worded for a one-line message, for anything else (a bare number too:
    ``30`` could be seconds or minutes).
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration; write it as 200ms, 2s, 30m, 1h or 2d")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def admin_headers() -> dict[str, str]:
    """``X-Sim-Admin-Token`` from ``GOLIVE_SIM_ADMIN_TOKEN``, when it is set."""
    token = os.environ.get(ADMIN_TOKEN_ENV)
    return {"X-Sim-Admin-Token": token} if token else {}


def rule_for(
    kind: str,
    *,
    method: str | None = None,
    path: str | None = None,
    client_id: str | None = None,
    probability: float | None = None,
    params: dict[str, Any] | None = None,
    duration_s: float | None = None,
    start: str | None = None,
    end: str | None = None,
    count: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /_sim/faults`` (unset parts left out: the defaults apply)."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; kinds: {', '.join(FAULT_KINDS)}")
    rule: dict[str, Any] = {"kind": kind}
    match = {k: v for k, v in (("method", method), ("path", path), ("client_id", client_id)) if v}
    if match:
        rule["match"] = match
    if probability is not None:
        rule["probability"] = probability
    if params:
        rule["params"] = params
    window = {k: v for k, v in (("start", start), ("end", end), ("duration_s", duration_s))
              if v is not None}  # fmt: skip
    if window:
        rule["window"] = window
    if count is not None:
        rule["count"] = count
    if seed is not None:
        rule["seed"] = seed
    return rule


class FaultRefused(UsageProblem):
    """A simulator refused a rule (422 names the field) or does not know a rule id."""


class Unreachable(UsageProblem):
    """Nothing answers at a simulator's URL."""


def _refusal(system: str, response: httpx.Response) -> FaultRefused:
    try:
        body = response.json()
        detail = str(body.get("detail") or body)
    except ValueError:
        detail = response.text[:200]
    return FaultRefused(f"{system}: HTTP {response.status_code}: {detail}")


class FaultClient:
    """Adds, lists and removes fault rules on simulators given by base URL per system."""

    def __init__(self, urls: dict[str, str], headers: dict[str, str] | None = None) -> None:
        self.urls = urls
        self._http = httpx.Client(headers=headers or {}, timeout=10)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FaultClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, system: str, method: str, suffix: str = "", **kwargs: Any) -> httpx.Response:
        url = self.urls.get(system)
        if url is None:
            raise UsageProblem(f"no URL for system {system!r} (known: {', '.join(self.urls)})")
        try:
            return self._http.request(method, f"{url}/_sim/faults{suffix}", **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach the {system} simulator at {url}: {exc}") from exc

    def add(self, system: str, rule: dict[str, Any]) -> dict[str, Any]:
        """Add ``rule`` (a ``rule_for`` body); the rule as the simulator holds it."""
        response = self._call(system, "POST", json=rule)
        if response.status_code != 201:
            raise _refusal(system, response)
        added: dict[str, Any] = response.json()
        return added

    def list(self, system: str) -> list[dict[str, Any]]:
        response = self._call(system, "GET")
        if response.status_code != 200:
            raise _refusal(system, response)
        rules: list[dict[str, Any]] = response.json()["data"]
        return rules

    def clear(self, system: str, rule_id: str | None = None) -> int:
        """Remove one rule (``rule_id``) or all of them; how many were removed."""
        response = self._call(system, "DELETE", f"/{rule_id}" if rule_id else "")
        if response.status_code != 200:
            raise _refusal(system, response)
        return int(response.json()["removed"])
