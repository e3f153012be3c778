"""What the oracle reads (a snapshot of the estate) and what it says (a verdict).

See docs/sut-contract.md (the linking table) and the README, "Reconciliation: the verdict".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

__all__ = [
    "INVARIANTS",
    "InvariantResult",
    "Obj",
    "Slos",
    "Snapshot",
    "Verdict",
    "Violation",
    "parse_time",
]

Obj = dict[str, Any]

# name -> what it promises; the order of the report.
INVARIANTS: dict[str, str] = {
    "order_per_deal": "each closed-won opportunity has exactly one ERP sales order",
    "subscription_per_deal": "each closed-won opportunity has exactly one billing subscription",
    "entitlement_per_deal": "each deal's subscription has exactly one support entitlement, "
    "active while the subscription is",
    "amounts_agree": "quote, order and subscription agree to the minor unit, in one currency",
    "ar_invoice_per_invoice": "each finalized billing invoice has exactly one ERP AR invoice "
    "of the same amount and currency",
    "receipt_per_payment": "each succeeded payment has exactly one ERP receipt of the same "
    "amount, applied to its invoice's AR invoice",
    "ledger_balanced": "debits equal credits in each journal entry and overall",
    "closed_period": "nothing is posted into a period after it closed",
    "no_orphans": "every order, subscription, entitlement, AR invoice and receipt has its source",
    "unique_external_id": "no two objects of one type share an external id",
    "latency_slo": "close -> order, order -> entitlement, invoice -> AR invoice and "
    "payment -> receipt within the [slos] of golive.toml",
}


def parse_time(stamp: str | None) -> datetime | None:
    """An ISO 8601 instant (``...Z`` or with an offset); None for None or a bad value."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


@dataclass(frozen=True)
class Slos:
    """End-to-end latency objectives in seconds (``[slos]`` of golive.toml)."""

    close_to_order_s: float = 1800.0
    order_to_entitlement_s: float = 1800.0
    invoice_to_ar_invoice_s: float = 1800.0
    payment_to_receipt_s: float = 21600.0

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Slos:
        """The known keys of ``[slos]`` (others belong to other commands); ValueError if bad."""
        values: dict[str, float] = {}
        for f in fields(cls):
            if f.name not in table:
                continue
            value = table[f.name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"[slos] {f.name} must be a positive number of seconds")
            values[f.name] = float(value)
        return cls(**values)


@dataclass
class Snapshot:
    """Every object of the five systems by type, their events, and the estate's now."""

    objects: dict[str, list[Obj]]
    events: list[Obj] = field(default_factory=list)
    now: str | None = None

    def __post_init__(self) -> None:
        self._by_id: dict[str, dict[str, Obj]] = {}
        self._by_ext: dict[str, dict[str, list[Obj]]] = {}
        self._trail: dict[str, list[Obj]] = defaultdict(list)
        for event in sorted(self.events, key=lambda e: (e.get("occurred_at") or "", e["id"])):
            data = event.get("data") or {}
            if isinstance(data, dict) and data.get("id"):
                self._trail[data["id"]].append(event)

    def of(self, object_type: str) -> list[Obj]:
        return self.objects.get(object_type, [])

    def by_id(self, object_type: str) -> dict[str, Obj]:
        if object_type not in self._by_id:
            self._by_id[object_type] = {o["id"]: o for o in self.of(object_type)}
        return self._by_id[object_type]

    def by_external_id(self, object_type: str) -> dict[str, list[Obj]]:
        if object_type not in self._by_ext:
            index: dict[str, list[Obj]] = defaultdict(list)
            for o in self.of(object_type):
                if o.get("external_id"):
                    index[o["external_id"]].append(o)
            self._by_ext[object_type] = dict(index)
        return self._by_ext[object_type]

    def by_field(self, object_type: str, field_name: str) -> dict[str, list[Obj]]:
        """Objects of one type by the value of ``field_name`` (ids of other objects)."""
        key = f"{object_type}.{field_name}"
        if key not in self._by_ext:
            index: dict[str, list[Obj]] = defaultdict(list)
            for o in self.of(object_type):
                if o.get(field_name):
                    index[str(o[field_name])].append(o)
            self._by_ext[key] = dict(index)
        return self._by_ext[key]

    def linked(self, object_type: str, source_id: str, field_name: str | None) -> list[Obj]:
        """Objects of ``object_type`` that name ``source_id`` as their ``external_id`` or in
        ``field_name``, each once, in export order."""
        found = {id(o): o for o in self.by_external_id(object_type).get(source_id, [])}
        if field_name:
            found |= {id(o): o for o in self.by_field(object_type, field_name).get(source_id, [])}
        order = {id(o): n for n, o in enumerate(self.of(object_type))}
        return sorted(found.values(), key=lambda o: order[id(o)])

    def trail(self, ids: Iterable[str]) -> list[Obj]:
        """The events of these objects, in time order (then commit order)."""
        events = {e["id"]: e for i in ids for e in self._trail.get(i, [])}
        return sorted(events.values(), key=lambda e: (e.get("occurred_at") or "", e["id"]))

    def event_time(self, object_id: str, *types: str) -> datetime | None:
        """When the first event of one of ``types`` happened to the object, if the feed has it."""
        for event in self._trail.get(object_id, []):
            if event.get("type") in types:
                return parse_time(event.get("occurred_at"))
        return None


@dataclass(frozen=True)
class Violation:
    """One broken promise: which invariant, the objects, the deal's correlation id, the trail."""

    invariant: str
    message: str
    ids: tuple[str, ...]
    correlation_id: str | None
    trail: tuple[Obj, ...] = ()

    def to_dict(self) -> Obj:
        return {
            "invariant": self.invariant,
            "message": self.message,
            "ids": list(self.ids),
            "correlation_id": self.correlation_id,
            "trail": [
                {k: e.get(k) for k in ("id", "type", "system", "occurred_at", "correlation_id")}
                | {"object_id": (e.get("data") or {}).get("id")}
                for e in self.trail
            ],
        }


@dataclass
class InvariantResult:
    """``checked`` objects, their ``violations``, and how many follow-ups are ``pending``:
    missing but still within their objective of the estate's now (not violations yet)."""

    name: str
    checked: int = 0
    violations: list[Violation] = field(default_factory=list)
    pending: int = 0

    @property
    def description(self) -> str:
        return INVARIANTS[self.name]


@dataclass
class Verdict:
    """One result per invariant, in the order of ``INVARIANTS``."""

    results: list[InvariantResult]
    now: str | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def violations(self) -> list[Violation]:
        return [v for r in self.results for v in r.violations]

    def result(self, name: str) -> InvariantResult:
        return next(r for r in self.results if r.name == name)

    def to_dict(self) -> Obj:
        return {
            "ok": self.ok,
            "now": self.now,
            "invariants": [
                {"name": r.name, "description": r.description, "checked": r.checked,
                 "pending": r.pending, "violations": [v.to_dict() for v in r.violations]}
                for r in self.results
            ],
        }  # fmt: skip
