"""The reconciliation oracle: cross-system invariants over an exported estate.

``reconcile(snapshot, slos)`` is a pure function of the objects and events of the five
systems; ``read_snapshot`` fetches them from running simulators (paged
``/_sim/export`` and the ``/events`` feeds). The invariants, their links and the SLO
defaults are documented in docs/sut-contract.md and the README ("Reconciliation: the
verdict").
"""

from __future__ import annotations

from scenarios.oracle._context import Ctx
from scenarios.oracle._deals import check_deals
from scenarios.oracle._integrity import check_orphans, check_unique
from scenarios.oracle._ledger import check_invoices, check_ledger, check_payments, check_periods
from scenarios.oracle._model import (
    INVARIANTS,
    InvariantResult,
    Slos,
    Snapshot,
    Verdict,
    Violation,
)
from scenarios.oracle.reader import ReadProblem, read_snapshot

__all__ = [
    "INVARIANTS",
    "InvariantResult",
    "ReadProblem",
    "Slos",
    "Snapshot",
    "Verdict",
    "Violation",
    "read_snapshot",
    "reconcile",
]


def reconcile(snapshot: Snapshot, slos: Slos | None = None) -> Verdict:
    """Every invariant of ``INVARIANTS`` checked over ``snapshot``."""
    ctx = Ctx(snapshot, slos or Slos())
    for check in (check_deals, check_invoices, check_payments, check_ledger, check_periods,
                  check_orphans, check_unique):  # fmt: skip
        check(ctx)
    return Verdict([ctx.results[name] for name in INVARIANTS], snapshot.now, ctx.latencies)
