"""The base of every simulator's ``state.py``: objects, versions, moves and events.

Subclasses declare their collections and write the business rules; this class
stamps ids, versions, timestamps and the correlation id, checks If-Match, moves
objects along their ``lifecycle.states`` machine and appends the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from pydantic import ConfigDict, ValidationError, validate_call

from lifecycle.entities import SYSTEM_TYPES
from lifecycle.states import InvalidTransition, StateMachine
from simulators.kit.context import current_correlation_id
from simulators.kit.errors import Conflict, Invalid, PreconditionFailed
from simulators.kit.runtime import Runtime
from simulators.kit.store import Collection, CollectionSpec, Store

__all__ = ["Obj", "SeedRejected", "SystemState", "check_move", "provider_state"]

Obj = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])


# Params arrive as JSON: a string for an int (or an int for an id) is refused, not coerced.
_PARAMS = ConfigDict(strict=True, arbitrary_types_allowed=True)


def provider_state(name: str) -> Callable[[F], F]:
    """Mark a method as the set-up of a Pact provider state called ``name``.

    Its keyword parameters are the state's params, validated (strictly) against
    their annotations: use the body types (``Id``, ``Money`` ...), so a pact cannot
    set up an object the API itself would refuse.
    """

    def mark(func: F) -> F:
        checked = validate_call(config=_PARAMS)(func)
        checked.__provider_state__ = name  # type: ignore[attr-defined]
        return checked

    return mark


def check_move(obj: Obj, machine: StateMachine, target: str, field: str = "status") -> None:
    """409 ``invalid_transition`` unless ``obj`` may move to ``target`` along ``machine``.

    The one shape of that refusal: rules call it before side effects that must not
    happen for a refused move; ``SystemState.move`` calls it too.
    """
    current = str(obj[field])  # StrEnum members store as plain text
    try:
        machine.check(current, str(target))
    except InvalidTransition as exc:
        allowed = sorted(machine.moves.get(current, ())) or "none (final)"
        raise Conflict(
            "invalid_transition",
            f"{obj['id']}: {exc}",
            [{"field": field, "message": f"allowed from {current!r}: {allowed}"}],
        ) from None


class SeedRejected(Invalid):
    """A seed batch with objects that do not fit the canonical model."""


class SystemState:
    """Objects and rules of one system, free of HTTP."""

    SYSTEM: ClassVar[str]
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]]
    PROVIDER_STATES: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.PROVIDER_STATES = {
            member.__provider_state__: attr
            for klass in reversed(cls.__mro__)
            for attr, member in vars(klass).items()
            if hasattr(member, "__provider_state__")
        }

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.clock = runtime.clock
        self.store = Store(self.COLLECTIONS)
        self.options = runtime.config.options

    # -- objects ---------------------------------------------------------------------------

    def col(self, object_type: str) -> Collection:
        return self.store[object_type]

    def new(self, object_type: str, fields: Obj) -> Obj:
        """Create and store an object with id, version 1, timestamps and correlation id."""
        now = self.clock.now_iso()
        collection = self.store[object_type]
        object_id = fields.get("id")
        while object_id is None or object_id in collection:
            # After a reset the id stream restarts from its seed, so a fresh id can be one
            # a re-seeded export already holds: draw again rather than answer duplicate_id.
            object_id = self.rt.ids.new(object_type)
        obj: Obj = {
            "id": object_id,
            "external_id": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "correlation_id": current_correlation_id.get(),
        }
        obj.update(fields)
        obj["id"] = object_id
        return collection.insert(obj)

    def update(
        self, object_type: str, obj: Obj, changes: Obj, expected_version: int | None = None
    ) -> Obj:
        """Store a new version of ``obj`` with ``changes``; 412 if ``expected_version`` is stale."""
        if expected_version is not None and expected_version != obj["version"]:
            raise PreconditionFailed(
                "precondition_failed",
                f"{obj['id']} is at version {obj['version']}, not {expected_version}",
            )
        new = {**obj, **changes, "version": obj["version"] + 1, "updated_at": self.clock.now_iso()}
        return self.store[object_type].replace(new)

    def move(
        self,
        object_type: str,
        obj: Obj,
        machine: StateMachine,
        target: str,
        changes: Obj | None = None,
        field: str = "status",
        expected_version: int | None = None,
    ) -> Obj:
        """Move ``obj`` to ``target`` along ``machine``; 409 ``invalid_transition`` otherwise."""
        check_move(obj, machine, target, field)
        return self.update(
            object_type, obj, {**(changes or {}), field: str(target)}, expected_version
        )

    def with_id(self, object_type: str, obj: Obj, new_id: str) -> Obj:
        """Give an object the id a consumer's pact names (Pact provider-state parameters)."""
        collection = self.store[object_type]
        if new_id in collection:
            return collection.get(new_id)
        collection.remove(obj["id"])
        return collection.insert({**obj, "id": new_id})

    def emit(self, event_type: str, obj: Obj) -> None:
        # The change just stamped updated_at: the event occurred then (and formatting
        # the clock again would cost a third of the event).
        self.rt.events.emit(event_type, obj, obj.get("updated_at"))

    def now(self) -> str:
        return self.clock.now_iso()

    def today(self) -> str:
        return self.clock.today().isoformat()

    # -- control plane ---------------------------------------------------------------------

    def reset(self) -> None:
        self.store.clear()
        self.on_reset()

    def on_reset(self) -> None:
        """Hook for systems that rebuild reference data after a reset."""

    def export(self) -> dict[str, list[Obj]]:
        return self.store.export()

    def seed(self, batch: dict[str, list[Obj]]) -> dict[str, int]:
        """Load canonical objects as given (ids, versions, timestamps kept); all or nothing."""
        models = SYSTEM_TYPES[self.SYSTEM]
        errors: list[Obj] = []
        for object_type in batch:
            if object_type not in models:
                errors.append({
                    "object_type": object_type, "index": None, "id": None,
                    "field": "object_type",
                    "message": f"not an object type of {self.SYSTEM}: known {sorted(models)}",
                })  # fmt: skip
        validated: list[tuple[str, Obj]] = []
        seen: set[tuple[str, str]] = set()
        for object_type, records in batch.items():
            model = models.get(object_type)
            if model is None:
                continue
            for index, record in enumerate(records):
                record_id = record.get("id") if isinstance(record, dict) else None
                try:
                    obj = model.model_validate(record).model_dump(mode="json")
                except ValidationError as exc:
                    for err in exc.errors()[:5]:
                        errors.append({
                            "object_type": object_type, "index": index, "id": record_id,
                            "field": ".".join(str(p) for p in err["loc"]) or "(object)",
                            "message": err["msg"],
                        })  # fmt: skip
                    continue
                key = (object_type, obj["id"])
                if key in seen or obj["id"] in self.store[object_type]:
                    errors.append({
                        "object_type": object_type, "index": index, "id": obj["id"],
                        "field": "id", "message": "an object with this id already exists",
                    })  # fmt: skip
                    continue
                seen.add(key)
                validated.append((object_type, obj))
        if errors:
            raise SeedRejected(
                "seed_rejected",
                f"{len(errors)} problem(s) in the seed batch; nothing loaded",
                errors[:100],
            )
        collections = {t: self.store[t] for t in batch if t in models}
        # Seeded data is loaded as given: a duplicate external id in it is the kind of
        # thing the reconciliation oracle exists to find, not a reason to refuse it.
        saved = {t: c.enforce_unique for t, c in collections.items()}
        loaded: dict[str, int] = dict.fromkeys(collections, 0)
        try:
            for c in collections.values():
                c.enforce_unique = False
            for object_type, obj in validated:
                collections[object_type].insert(obj)
                loaded[object_type] += 1
        finally:
            for t, flag in saved.items():
                collections[t].enforce_unique = flag
        return loaded

    def setup_provider_state(self, name: str, params: Obj) -> Obj:
        attr = self.PROVIDER_STATES.get(name)
        if attr is None:
            raise Invalid(
                "unknown_provider_state",
                f"{self.SYSTEM} has no provider state {name!r}; "
                f"known: {sorted(self.PROVIDER_STATES)}",
            )
        try:
            result = getattr(self, attr)(**params)
        except ValidationError as exc:
            raise Invalid(
                "invalid_provider_state_params",
                f"{name!r}: the params do not fit the state",
                [
                    {
                        "field": ".".join(["params", *(str(p) for p in err["loc"])]),
                        "message": err["msg"],
                    }
                    for err in exc.errors()[:20]
                ],
            ) from None
        return result if isinstance(result, dict) else {}

    @staticmethod
    def pick(source: Obj, names: Iterable[str]) -> Obj:
        return {n: source[n] for n in names if n in source}
