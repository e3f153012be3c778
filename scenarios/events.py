"""Past-tense events the scenario engine emits for reporters to consume.

The model never prints: it calls a listener with these (Schemathesis engine/events
style). Per-delivery events are only built when a listener is attached, so a run
without one pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "CircuitClosed",
    "CircuitOpened",
    "DeadLettered",
    "DeliveryRetried",
    "DuplicateReachedSystem",
    "EngineEvent",
    "FaultEnded",
    "FaultStarted",
    "Listener",
    "OutageEnded",
    "OutageStarted",
    "ReplicationFinished",
    "ReplicationStarted",
]


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """Base: ``at_s`` is simulated seconds from the scenario start (0 for run-level events)."""

    at_s: float


@dataclass(frozen=True, slots=True)
class ReplicationStarted(EngineEvent):
    replication: int
    point: int


@dataclass(frozen=True, slots=True)
class ReplicationFinished(EngineEvent):
    replication: int
    point: int
    deals: int
    sim_events: int


@dataclass(frozen=True, slots=True)
class OutageStarted(EngineEvent):
    system: str
    duration_s: float


@dataclass(frozen=True, slots=True)
class OutageEnded(EngineEvent):
    system: str


@dataclass(frozen=True, slots=True)
class FaultStarted(EngineEvent):
    system: str
    kind: str


@dataclass(frozen=True, slots=True)
class FaultEnded(EngineEvent):
    system: str
    kind: str


@dataclass(frozen=True, slots=True)
class CircuitOpened(EngineEvent):
    system: str


@dataclass(frozen=True, slots=True)
class CircuitClosed(EngineEvent):
    system: str


@dataclass(frozen=True, slots=True)
class DeliveryRetried(EngineEvent):
    flow: str
    system: str
    attempt: int
    delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class DeadLettered(EngineEvent):
    flow: str
    deal: int
    reason: str


@dataclass(frozen=True, slots=True)
class DuplicateReachedSystem(EngineEvent):
    flow: str
    system: str
    deal: int


Listener = Callable[[EngineEvent], None]
