"""Conformance fuzzing of one system against its reviewed OpenAPI document (Schemathesis 4).

Runs Schemathesis' engine in this process so that golive owns what Schemathesis
leaves to the user: the OAuth client-credentials token (fetched, cached and
fetched again before it expires), the operations in scope, the progress shown and
the verdict. The engine's past-tense events go to a callback; ``golive contracts
fuzz`` renders them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "CHECKS",
    "FuzzFailure",
    "FuzzOptions",
    "FuzzResult",
    "TokenError",
    "TokenSource",
    "run_fuzz",
]

# What "conforms" means: no 5xx; every status, content type, header and body is
# documented; a created object can be read back. Checks that judge business rules
# (positive_data_acceptance: "valid" input must get 2xx) are left out: a schema
# cannot say that a quote over its discount threshold needs approval first.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ensure_resource_availability",
    "use_after_free",
)
_REFRESH_MARGIN_S = 30.0  # fetch a new token this long before the old one expires


class TokenError(RuntimeError):
    """The token endpoint refused the credentials or did not answer (one line)."""


@dataclass
class TokenSource:
    """An OAuth 2 client-credentials token, fetched again before it expires.

    ``expires_in`` from the token response sets when: a new token is fetched once
    less than ``margin_s`` (or a tenth of the lifetime, at least 2 s, if less) is
    left, so no request goes out with a token about to lapse. ``invalidate()``
    forces a fetch (after a 401).
    """

    token_url: str
    client_id: str
    client_secret: str
    margin_s: float = _REFRESH_MARGIN_S
    clock: Callable[[], float] = time.monotonic
    fetched: int = 0
    _token: str | None = field(default=None, repr=False)
    _refresh_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._refresh_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        try:
            response = httpx.post(self.token_url, data=form, timeout=10)
        except httpx.HTTPError as exc:
            raise TokenError(f"{self.token_url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise TokenError(
                f"{self.token_url} answered {response.status_code} for client "
                f"{self.client_id!r} (check GOLIVE_CLIENT_ID / GOLIVE_CLIENT_SECRET)"
            )
        body = response.json()
        lifetime = float(body.get("expires_in") or 3600)
        self._token = str(body["access_token"])
        # At least 2 s early: servers stamp expiry in whole seconds (up to 1 s sooner
        # than the lifetime says) and a generated case waits a moment before it is sent.
        self._refresh_at = self.clock() + lifetime - min(self.margin_s, max(2.0, lifetime / 10))
        self.fetched += 1


class _BearerAuth:
    """Schemathesis auth provider over a TokenSource (its own caching is turned off)."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    def get(self, case: Any, ctx: Any) -> str:
        return self.tokens.token()

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@dataclass
class FuzzOptions:
    system: str
    base_url: str
    spec: dict[str, Any]
    client_id: str
    client_secret: str
    max_examples: int = 25
    seed: int | None = None
    stateful: bool = True
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing")
    control_plane: bool = False  # /_sim/...: simulators only, never staging
    max_time_s: int | None = None
    request_timeout_s: float = 10.0


@dataclass(frozen=True)
class FuzzFailure:
    operation: str
    phase: str
    title: str
    message: str
    reproduce: str | None


@dataclass
class FuzzResult:
    system: str
    base_url: str
    seed: int
    operations: int = 0
    scenarios: int = 0
    requests: int = 0
    tokens_fetched: int = 0
    failures: list[FuzzFailure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tested: dict[str, str] = field(default_factory=dict)  # "phase operation" -> status
    elapsed_s: float = 0.0
    stop_reason: str = "completed"

    @property
    def passed(self) -> bool:
        return not self.failures and not self.errors

    def verdict(self) -> str:
        word = "PASS" if self.passed else "FAIL"
        found = f"{len(self.failures)} failure(s)" + (
            f", {len(self.errors)} error(s)" if self.errors else ""
        )
        return (
            f"{word} {self.system} at {self.base_url}: {found} in {self.requests} requests over "
            f"{self.operations} operations ({self.scenarios} scenarios, seed {self.seed}, "
            f"{self.tokens_fetched} token(s), {self.elapsed_s:.0f} s)"
        )


def _in_scope(spec: dict[str, Any], control_plane: bool) -> dict[str, Any]:
    """The operations to fuzz; links to operations left out are dropped with them."""
    import copy

    paths = {
        p: copy.deepcopy(item)
        for p, item in spec.get("paths", {}).items()
        if control_plane or not p.startswith("/_sim/")
    }
    present = {
        op.get("operationId")
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict)
    }
    for item in paths.values():
        for op in item.values():
            for response in (op.get("responses") or {}).values() if isinstance(op, dict) else ():
                links = response.get("links") if isinstance(response, dict) else None
                if isinstance(links, dict):
                    for name in [n for n, link in links.items()
                                 if link.get("operationId") not in present]:  # fmt: skip
                        del links[name]
    return {**spec, "paths": paths}


def run_fuzz(options: FuzzOptions, on_event: Callable[[Any], None] | None = None) -> FuzzResult:
    """Run Schemathesis against ``options.base_url``; each engine event goes to ``on_event``."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import events, from_schema
    from schemathesis.reporting.recorders import grouped_failures_from_recorder

    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    tokens = TokenSource(
        f"{options.base_url}/oauth/token", options.client_id, options.client_secret
    )
    tokens.token()  # fail early, in one line, on wrong credentials or a dead URL
    config = SchemathesisConfig()
    config.update(seed=seed, max_failures=None, max_time=options.max_time_s)
    phases = [*options.phases, *(["stateful"] if options.stateful else [])]
    config.projects.override.phases.update(phases=phases)
    config.projects.override.checks.update(included_check_names=list(CHECKS))
    # No example database and no failure cache: the same seed must replay the same run,
    # whatever earlier runs left behind, and nothing is written into the caller's folder.
    config.projects.override.generation.update(max_examples=options.max_examples, database="none")
    config.cache.enabled = False
    schema = schemathesis.openapi.from_dict(
        _in_scope(options.spec, options.control_plane), config=config
    )
    schema.config.update(base_url=options.base_url, request_timeout=options.request_timeout_s)
    schema.auth.providers.append(_BearerAuth(tokens))
    result = FuzzResult(options.system, options.base_url, seed)
    result.operations = sum(1 for _ in schema.get_all_operations())
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            result.scenarios += 1
            result.requests += len(event.recorder.interactions)
            label = event.label or event.recorder.label
            key = f"{event.phase.value} {label}"
            if result.tested.get(key) != "failure":
                result.tested[key] = event.status.value
            for group in grouped_failures_from_recorder(event.recorder):
                for failure in group.failures:
                    result.failures.append(
                        FuzzFailure(
                            str(getattr(failure, "operation", None) or label),
                            event.phase.value,
                            failure.title,
                            failure.message,
                            group.code_sample,
                        )
                    )
        elif isinstance(event, events.NonFatalError):
            result.errors.append(f"{event.label}: {event.info.format(base_url_is_set=True)}")
        elif isinstance(event, events.FatalError):
            result.errors.append(f"fatal: {type(event.exception).__name__}: {event.exception}")
        elif isinstance(event, events.EngineFinished):
            result.stop_reason = event.stop_reason.value
            if result.stop_reason == "server_unavailable":
                result.errors.append(f"{options.base_url} stopped responding during the run")
        if on_event is not None:
            on_event(event)
    result.elapsed_s = time.monotonic() - started
    result.failures = _unique(result.failures)
    result.tokens_fetched = tokens.fetched
    return result


def _unique(failures: list[FuzzFailure]) -> list[FuzzFailure]:
    seen: dict[tuple[str, str, str], FuzzFailure] = {}
    for f in failures:
        seen.setdefault((f.operation, f.title, f.message), f)
    return list(seen.values())
