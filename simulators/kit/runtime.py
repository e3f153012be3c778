"""Everything one simulator instance owns besides its business state."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulators.kit.auth import DEFAULT_CLIENTS, TokenIssuer, default_signing_key
from simulators.kit.clock import SimClock
from simulators.kit.events import EventLog
from simulators.kit.idempotency import IdempotencyStore
from simulators.kit.ids import IdSequence
from simulators.kit.journal import Journal
from simulators.kit.metrics import Metrics
from simulators.kit.uow import UnitOfWork

__all__ = [
    "BODY_LIMIT_ENV",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_SEED_BODY_BYTES",
    "Runtime",
    "SimConfig",
    "body_limits_from_env",
]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_SEED_BODY_BYTES = 64 * 1024 * 1024
# Environment variables a served simulator (python -m simulators.serve) reads its
# body limits from, by SimConfig field.
BODY_LIMIT_ENV = {
    "max_body_bytes": "GOLIVE_MAX_BODY_BYTES",
    "max_seed_body_bytes": "GOLIVE_MAX_SEED_BODY_BYTES",
}


@dataclass
class SimConfig:
    """Settings of one simulator; ``options`` holds system-specific ones."""

    seed: int = 0
    clients: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CLIENTS))
    admin_token: str | None = None
    # None: GOLIVE_SIGNING_KEY, else a random key per process (see kit/auth.py).
    signing_key: bytes | None = field(default=None, repr=False)
    journal_max_entries: int = 100_000
    journal_enabled: bool = True
    # Request bodies larger than these get 413 before they are read (docs/limits.md):
    # business endpoints take single objects, /_sim/seed takes whole generated data sets.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_seed_body_bytes: int = DEFAULT_MAX_SEED_BODY_BYTES
    options: dict[str, Any] = field(default_factory=dict)


def body_limits_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The SimConfig body limits set in ``environ`` (keyword arguments of SimConfig).

    ValueError names a variable whose value is not a positive number of bytes.
    """
    limits: dict[str, Any] = {}
    for name, variable in BODY_LIMIT_ENV.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{variable} must be a positive number of bytes, not {raw!r}")
        limits[name] = int(raw)
    return limits


class Runtime:
    """Clock, ids, events, journal, metrics, idempotency keys and tokens of one simulator."""

    def __init__(self, system: str, config: SimConfig | None = None) -> None:
        self.system = system
        self.config = config or SimConfig()
        self.clock = SimClock()
        self.ids = IdSequence(self.config.seed)
        self.events = EventLog(system, self.clock)
        self.journal = Journal(self.config.journal_max_entries)
        self.journal.enabled = self.config.journal_enabled
        self.metrics = Metrics(system)
        self.idempotency = IdempotencyStore()
        self.tokens = TokenIssuer(
            system,
            clients=dict(self.config.clients),
            signing_key=self.config.signing_key or default_signing_key(),
        )
        # The transaction with uncommitted writes, if any (kit/uow.py): one at a time.
        self.writer: UnitOfWork | None = None
        # Activity an estate clock waits on before it calls a step settled
        # (docs/control-plane.md, the estate clock): business requests in flight, when
        # the last one arrived or ended (time.monotonic()), and webhook deliveries due
        # but not yet delivered (the dispatcher replaces this hook; it also calls
        # touch() on each delivery, so a receiver's reaction is waited for).
        self.in_flight = 0
        self.last_request_at = time.monotonic()
        self.pending_deliveries: Callable[[], int] = lambda: 0

    def touch(self) -> None:
        """Note activity now (a business request, a webhook delivery)."""
        self.last_request_at = time.monotonic()

    def reset(self) -> None:
        """Forget everything but metrics (Prometheus counters only ever grow)."""
        self.ids.reset()
        self.events.clear()
        self.journal.clear()
        self.idempotency.clear()
        self.clock.reset()
