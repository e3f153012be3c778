"""Everything one simulator instance owns besides its business state."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lifecycle.limits import LimitSettings
from simulators.kit.auth import DEFAULT_CLIENTS, TokenIssuer, default_signing_key
from simulators.kit.clock import SimClock
from simulators.kit.events import DEFAULT_MAX_EVENTS, EventLog
from simulators.kit.fault_rules import FaultBook
from simulators.kit.idempotency import DEFAULT_MAX_KEYS, IdempotencyStore
from simulators.kit.ids import IdSequence
from simulators.kit.journal import Journal
from simulators.kit.limits import Limiter
from simulators.kit.metrics import Metrics
from simulators.kit.uow import UnitOfWork

if TYPE_CHECKING:
    from simulators.kit.durable import Durable

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_SEED_BODY_BYTES",
    "LIMIT_ENV",
    "Runtime",
    "SimConfig",
    "limits_from_env",
]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_SEED_BODY_BYTES = 64 * 1024 * 1024
# Environment variables a served simulator (python -m simulators.serve) reads its
# limits from, by SimConfig field: each a positive whole number (docs/limits.md).
LIMIT_ENV = {
    "max_body_bytes": "GOLIVE_MAX_BODY_BYTES",
    "max_seed_body_bytes": "GOLIVE_MAX_SEED_BODY_BYTES",
    "journal_max_entries": "GOLIVE_JOURNAL_MAX_ENTRIES",
    "event_log_max_events": "GOLIVE_EVENT_LOG_MAX_EVENTS",
    "idempotency_max_keys": "GOLIVE_IDEMPOTENCY_MAX_KEYS",
}


@dataclass
class SimConfig:
    """Settings of one simulator; ``options`` holds system-specific ones."""

    seed: int = 0
    clients: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CLIENTS))
    admin_token: str | None = None
    # None: GOLIVE_SIGNING_KEY, else a random key per process (see kit/auth.py).
    signing_key: bytes | None = field(default=None, repr=False)
    # What the simulator keeps in memory (docs/limits.md): the newest requests, the newest
    # events (GET /events?after= older ones is 410), and at most this many saved keys.
    journal_max_entries: int = 100_000
    journal_enabled: bool = True
    event_log_max_events: int = DEFAULT_MAX_EVENTS
    idempotency_max_keys: int = DEFAULT_MAX_KEYS
    # Request bodies larger than these get 413 before they are read (docs/limits.md):
    # business endpoints take single objects, /_sim/seed takes whole generated data sets.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_seed_body_bytes: int = DEFAULT_MAX_SEED_BODY_BYTES
    # False builds the app without its fault engine layer (GOLIVE_FAULT_ENGINE=0): for
    # measuring what the engine costs (docs/benchmarks.md, target 4); rules are refused.
    fault_engine: bool = True
    # For that measurement only (GOLIVE_BENCH_WITHOUT, docs/benchmarks.md): False keeps no
    # events (no feed, no webhooks), or applies a write as it runs with no transaction
    # (nothing is undone on a refusal). Never for a simulator anyone tests against.
    event_log_enabled: bool = True
    transactions: bool = True
    # Throttling (docs/limits.md, throttling): None, or fields None, is no limit.
    limits: LimitSettings | None = None
    # Webhooks (docs/webhooks.md): hosts beyond loopback receivers may be on ("*": any),
    # and how long a receiver has to answer an attempt.
    webhook_hosts: tuple[str, ...] = ()
    webhook_timeout_s: float = 15.0
    options: dict[str, Any] = field(default_factory=dict)
    # With a folder, state is kept on disk in <state_dir>/<system>.sqlite3 and every
    # acknowledged write is there before its response (docs/durability.md); "full"
    # survives a power cut, "normal" a killed process.
    state_dir: str | Path | None = None
    durability: Literal["full", "normal"] = "full"


def limits_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The SimConfig limits set in ``environ`` (keyword arguments of SimConfig).

    ValueError names a variable whose value is not a positive whole number.
    """
    limits: dict[str, Any] = {}
    for name, variable in LIMIT_ENV.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            unit = "number of bytes" if name.endswith("_bytes") else "whole number"
            raise ValueError(f"{variable} must be a positive {unit}, not {raw!r}")
        limits[name] = int(raw)
    return limits


class Runtime:
    """Clock, ids, events, journal, metrics, idempotency keys and tokens of one simulator."""

    def __init__(self, system: str, config: SimConfig | None = None) -> None:
        self.system = system
        self.config = config or SimConfig()
        self.clock = SimClock()
        self.ids = IdSequence(self.config.seed)
        self.events = EventLog(system, self.clock, self.config.event_log_max_events)
        self.events.enabled = self.config.event_log_enabled
        self.journal = Journal(self.config.journal_max_entries)
        self.journal.enabled = self.config.journal_enabled
        self.metrics = Metrics(system)
        self.faults = FaultBook(self.config.seed, self.clock, self.metrics)
        self.faults.enabled = self.config.fault_engine
        self.idempotency = IdempotencyStore(self.config.idempotency_max_keys)
        self.limits = Limiter(self.clock, self.config.limits)
        self.tokens = TokenIssuer(
            system,
            clients=dict(self.config.clients),
            signing_key=self.config.signing_key or default_signing_key(),
        )
        # The transaction with uncommitted writes, if any (kit/uow.py): one at a time.
        self.writer: UnitOfWork | None = None
        # Called by reset() after the kit's own state is emptied (the webhook dispatcher).
        self.reset_hooks: list[Callable[[], None]] = []
        # The disk behind this state (kit/durable.py), or None: in memory only.
        self.durable: Durable | None = None
        # Activity an estate clock waits on before it calls a step settled
        # (docs/control-plane.md, the estate clock): business requests in flight, when
        # the last one arrived or ended (time.monotonic()), webhook deliveries due but
        # not yet delivered and when the next one falls due (epoch seconds of the
        # simulator clock); the app wires the last two to its dispatcher, which calls
        # touch() after each delivery, so a receiver's reaction is waited for too.
        self.in_flight = 0
        self.last_request_at = time.monotonic()
        self.pending_deliveries: Callable[[], int] = lambda: 0
        self.next_delivery_at: Callable[[], float | None] = lambda: None

    def touch(self) -> None:
        """Note activity now (a business request, a webhook delivery)."""
        self.last_request_at = time.monotonic()

    def reset(self) -> None:
        """Forget everything but metrics (Prometheus counters only ever grow); faults too."""
        self.ids.reset()
        self.events.clear()
        self.journal.clear()
        self.idempotency.clear()
        self.clock.reset()
        self.faults.clear()
        self.limits.configure(self.config.limits or LimitSettings())
        for hook in self.reset_hooks:
            hook()
