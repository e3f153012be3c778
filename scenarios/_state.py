"""The state the estate model's parts share, declared once so each part is type-checked.

:class:`scenarios.model.EstateModel` sets every attribute in ``__init__``; the mixins
(:mod:`scenarios._worker`, :mod:`scenarios._faults`) read and write them. The
methods below are the model's, named here so the worker loop can call them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import simpy

from scenarios import events as ev
from scenarios.result import RunRecord
from scenarios.spec import ScenarioSpec

__all__ = ["EstateState", "Job", "Step"]

# A delivery in the middleware: [flow, deal, emitted, enqueued, first seen, step,
# attempt, duplicate]. A list is the cheapest mutable record in CPython.
Job = list[Any]
# A flow's call: (system index, service-time stream, the operation's cumulative error
# thresholds (5xx, dropped) or None).
Step = tuple[int, Iterator[float], tuple[float, float] | None]


class EstateState:
    """Attributes and methods of one replication, shared by the model's mixins."""

    env: simpy.Environment
    spec: ScenarioSpec
    _rec: RunRecord
    _emit: ev.Listener | None
    _u: Iterator[float]
    _steps: list[list[Step]]
    # Per system, indexed like SYSTEMS.
    _conc: list[int]
    _rate: list[float]
    _burst: list[float]
    _tokens: list[float]
    _refill: list[float]
    _in_flight: list[int]
    _down_until: list[float]
    _down_retry_after: list[float]
    _extra_s: list[float]
    _fault_p: list[float]
    _fault_kind: list[str]
    _dup_p: list[float]
    _reorder_p: list[float]
    _delay_s: list[float]
    _hook_down_until: list[float]
    _open_until: list[float]
    # Where the work is: held upstream, queued, waiting to retry, in the estate at all.
    _queue: deque[Job]
    _idle: list[simpy.Event]
    _in_system: int
    _upstream: int
    _retry_waiting: int
    _done: int

    def _fail(self, job: Job, system: int, reason: str, retry_after: float) -> None:
        raise NotImplementedError

    def _complete(self, job: Job) -> None:
        raise NotImplementedError

    def _commit(self, job: Job) -> None:
        raise NotImplementedError

    def _healthy(self, system: int) -> None:
        raise NotImplementedError

    def _later(self, delay: float, job: Job, retry: bool = False) -> None:
        raise NotImplementedError
