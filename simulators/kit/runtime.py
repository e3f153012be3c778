"""Everything one simulator instance owns besides its business state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lifecycle.ids import IdFactory
from simulators.kit.auth import DEFAULT_CLIENTS, TokenIssuer, default_signing_key
from simulators.kit.clock import SimClock
from simulators.kit.events import EventLog
from simulators.kit.idempotency import IdempotencyStore
from simulators.kit.journal import Journal
from simulators.kit.metrics import Metrics

__all__ = ["Runtime", "SimConfig"]


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
    options: dict[str, Any] = field(default_factory=dict)


class Runtime:
    """Clock, ids, events, journal, metrics, idempotency keys and tokens of one simulator."""

    def __init__(self, system: str, config: SimConfig | None = None) -> None:
        self.system = system
        self.config = config or SimConfig()
        self.clock = SimClock()
        self.ids = IdFactory(self.config.seed)
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

    def reset(self) -> None:
        """Forget everything but metrics (Prometheus counters only ever grow)."""
        self.ids.reset()
        self.events.clear()
        self.journal.clear()
        self.idempotency.clear()
        self.clock.reset()
