"""The base of every simulator's ``state.py``: objects, versions, moves and events.

Subclasses declare their collections and write the business rules; this class
stamps ids, versions, timestamps and the correlation id, checks If-Match, moves
objects along their ``lifecycle.states`` machine and appends the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, TypeVar

from pydantic import ConfigDict, Field, ValidationError, validate_call

from lifecycle.faults import FaultSpec
from lifecycle.states import InvalidTransition, StateMachine
from simulators.kit.context import current_correlation_id
from simulators.kit.errors import Conflict, Invalid, NotFound, PreconditionFailed
from simulators.kit.runtime import Runtime
from simulators.kit.scheduler import Job, JobSpec, Scheduler, key_expiry_job
from simulators.kit.seeding import (
    MAX_ID_LENGTH,
    cycle_members,
    date_problems,
    id_problems,
    is_safe_id,
    problem,
    reference_values,
    self_references,
)
from simulators.kit.store import Collection, CollectionSpec, Store
from simulators.kit.uow import transaction
from simulators.kit.webhooks import KIT_COLLECTIONS

__all__ = ["Obj", "SeedRejected", "SystemState", "Versions", "check_move", "provider_state"]

Obj = dict[str, Any]
# The versions an If-Match header accepts (kit.http.expected_version); None: any.
Versions = frozenset[int]
F = TypeVar("F", bound=Callable[..., Any])


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
FaultPath = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^/")]

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


def _first(numbers: list[int] | None) -> int | None:
    return numbers[0] if numbers else None


class _Seeded(NamedTuple):
    """An object of a seed batch that passed the per-object checks."""

    object_type: str
    obj: Obj
    position: int  # index within its type in the batch
    line: int | None


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
    # What falls due on the clock (kit/scheduler.py); the kit adds idempotency-key expiry.
    JOBS: ClassVar[tuple[JobSpec, ...]] = ()
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
        # The kit's own collections (webhook endpoints) sit beside the system's.
        self.store = Store((*self.COLLECTIONS, *KIT_COLLECTIONS))
        self.options = runtime.config.options
        jobs = [Job(s.name, getattr(self, s.due), getattr(self, s.run)) for s in self.JOBS]
        self.scheduler = Scheduler(runtime, [*jobs, key_expiry_job(runtime)])
        self.on_start()

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
        self, object_type: str, obj: Obj, changes: Obj, expected_version: Versions | None = None
    ) -> Obj:
        """Store a new version of ``obj`` with ``changes``; 412 unless at an expected version."""
        if expected_version is not None and obj["version"] not in expected_version:
            wanted = ", ".join(map(str, sorted(expected_version))) or "none (weak tags only)"
            raise PreconditionFailed(
                "precondition_failed",
                f"{obj['id']} is at version {obj['version']}; If-Match accepts {wanted}",
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
        expected_version: Versions | None = None,
    ) -> Obj:
        """Move ``obj`` to ``target`` along ``machine``; 409 ``invalid_transition`` otherwise."""
        check_move(obj, machine, target, field)
        return self.update(
            object_type, obj, {**(changes or {}), field: str(target)}, expected_version
        )

    def with_id(self, object_type: str, obj: Obj, new_id: str) -> Obj:
        """Give an object the id a consumer's pact names (Pact provider-state parameters)."""
        collection = self.store[object_type]
        self._check_id(new_id)
        if new_id in collection:
            return collection.get(new_id)
        collection.remove(obj["id"])
        return collection.insert({**obj, "id": new_id})

    @staticmethod
    def _check_id(value: object, field: str = "id") -> None:
        if not is_safe_id(value):
            shown = value[:MAX_ID_LENGTH] if isinstance(value, str) else value
            raise Invalid(
                "invalid_id",
                f"{shown!r} is not an id",
                [{"field": field, "message": f"1 to {MAX_ID_LENGTH} of A-Z a-z 0-9 _ . : -"}],
            )

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

    def on_start(self) -> None:
        """Hook: the simulator starts, or starts again after a reset (clock reset too).

        For what a system must remember from its start, in the store (a counter), such
        as the first accounting period the ERP may close by itself.
        """

    def on_clock_moved(self) -> None:
        """Hook: runs after a control-plane clock move, once the jobs that fell due ran.

        Runs in the transaction of the move's last step, so a failure leaves the clock
        at the last job's instant (the jobs, each its own transaction, stay done).
        """

    def export(self) -> dict[str, list[Obj]]:
        """The system's objects by type (not the kit's own: they do not seed back)."""
        kit = {spec.object_type for spec in KIT_COLLECTIONS}
        return {name: objs for name, objs in self.store.export().items() if name not in kit}

    def export_type(self, object_type: str) -> list[Obj] | None:
        """The objects of one exported type, or None for a type the export does not hold."""
        if object_type in {spec.object_type for spec in KIT_COLLECTIONS}:
            return None
        collection = self.store.collections.get(object_type)
        return None if collection is None else list(collection)

    def seed(
        self,
        batch: dict[str, list[Obj]],
        *,
        lines: dict[str, list[int]] | None = None,
        problems: list[Obj] | None = None,
    ) -> dict[str, int]:
        """Load canonical objects as given (ids, versions, timestamps kept); all or nothing.

        Everything is checked before the first object is stored (models, ids, in-system
        references, hierarchies, the system's own ``seed_problems``), and a failure while
        storing removes what was stored. ``lines`` gives each object's NDJSON line;
        ``problems`` are those the parser already found, reported with the rest.
        """
        checked, errors = self._check_seed(batch, lines or {})
        errors = [*(problems or []), *errors]
        if errors:
            errors.sort(key=lambda e: e.get("line") or 0)
            raise SeedRejected(
                "seed_rejected",
                f"{len(errors)} problem(s) in the seed batch; nothing loaded",
                errors[:100],
            )
        return self._load_seed(checked)

    def seed_problems(self, object_type: str, obj: Obj) -> list[tuple[str, str]]:
        """Hook: (field, message) for a seeded object the system's own code could not read."""
        return []

    def after_seed(self, loaded: list[tuple[str, Obj]]) -> None:
        """Hook: rebuild what the system derives from its objects (counters, timers)."""

    def _check_seed(
        self, batch: dict[str, list[Obj]], lines: dict[str, list[int]]
    ) -> tuple[list[_Seeded], list[Obj]]:
        from lifecycle.entities import SYSTEM_TYPES  # every system's models: at first seed

        models = SYSTEM_TYPES[self.SYSTEM]
        errors: list[Obj] = []
        for object_type in batch:
            if object_type not in models:
                message = f"not an object type of {self.SYSTEM}: known {sorted(models)}"
                line = _first(lines.get(object_type))
                errors.append(problem(object_type, None, None, "object_type", message, line))
        checked: list[_Seeded] = []
        fresh: dict[str, dict[str, _Seeded]] = {t: {} for t in models}  # type -> id -> object
        for object_type, records in batch.items():
            model = models.get(object_type)
            if model is None:
                continue
            numbers: list[int | None] = [*lines.get(object_type, ())]
            numbers += [None] * (len(records) - len(numbers))
            for index, (record, line) in enumerate(zip(records, numbers, strict=True)):
                record_id = record.get("id") if isinstance(record, dict) else None
                found: list[tuple[str, str]] = []
                obj: Obj | None = None
                try:
                    obj = model.model_validate(record).model_dump(mode="json")
                except ValidationError as exc:
                    found = [(".".join(str(p) for p in err["loc"]) or "(object)", err["msg"])
                             for err in exc.errors()[:5]]  # fmt: skip
                if obj is not None:
                    found = id_problems(obj) + date_problems(model, obj)
                if obj is not None and not found:
                    if obj["id"] in fresh[object_type] or obj["id"] in self.store[object_type]:
                        found = [("id", "an object with this id already exists")]
                    else:
                        found = self.seed_problems(object_type, obj)
                errors += [problem(object_type, index, record_id, f, m, line) for f, m in found]
                if obj is not None and not found:
                    seeded = _Seeded(object_type, obj, index, line)
                    fresh[object_type][obj["id"]] = seeded
                    checked.append(seeded)
        for s in checked:
            for path, target in self.store[s.object_type].spec.references.items():
                for field, value in reference_values(s.obj, path):
                    if value is None or value in fresh[target] or value in self.store[target]:
                        continue
                    errors.append(problem(s.object_type, s.position, s.obj["id"], field,
                                          f"no {target} {value!r} in this batch or already "
                                          "stored", s.line))  # fmt: skip
        for object_type, objects in fresh.items():
            for field in self_references(self.store[object_type].spec):
                parents = {i: o.obj.get(field) for i, o in objects.items()}
                for object_id in sorted(cycle_members(parents)):
                    s = objects[object_id]
                    errors.append(problem(object_type, s.position, object_id, field,
                                          f"{field} makes a cycle: the {object_type} would be "
                                          "its own ancestor", s.line))  # fmt: skip
        return checked, errors

    def _load_seed(self, checked: list[_Seeded]) -> dict[str, int]:
        collections = {s.object_type: self.store[s.object_type] for s in checked}
        # Seeded data is loaded as given: a duplicate external id in it is the kind of
        # thing the reconciliation oracle exists to find, not a reason to refuse it.
        saved = {t: c.enforce_unique for t, c in collections.items()}
        loaded: dict[str, int] = dict.fromkeys(collections, 0)
        stored: list[tuple[str, Obj]] = []
        # All or nothing: a failure while storing rolls the whole batch back.
        with transaction(self.rt):
            try:
                for c in collections.values():
                    c.enforce_unique = False
                for object_type, obj, _, _ in checked:
                    collections[object_type].insert(obj)
                    stored.append((object_type, obj))
                    loaded[object_type] += 1
                self.after_seed(stored)
            finally:
                for t, flag in saved.items():
                    collections[t].enforce_unique = flag
        return loaded

    def setup_provider_state(self, name: str, params: Obj) -> Obj:
        attr = self.PROVIDER_STATES.get(name)
        if attr is None:
            raise NotFound(
                "unknown_provider_state",
                f"{self.SYSTEM} has no provider state {name!r}; "
                f"known: {sorted(self.PROVIDER_STATES)}",
            )
        # Ids a pact names are bounded as seeded ones are, before anything is created.
        for key, value in params.items():
            if (key == "id" or key.endswith("_id")) and isinstance(value, str):
                self._check_id(value, f"params.{key}")
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

    @provider_state("the next {method} {path} is rate limited")
    def _state_rate_limited(self, method: HttpMethod = "GET", path: FaultPath = "/events") -> Obj:
        """The next matching request gets 429 ``rate_limit_exceeded`` with ``Retry-After``:
        a ``rate_limit`` fault rule with ``count`` 1 (docs/faults.md), added once."""
        if not self.rt.faults.enabled:
            raise Invalid("fault_engine_off", "this simulator runs without its fault engine")
        spec = FaultSpec.model_validate(
            {"match": {"method": method, "path": path}, "kind": "rate_limit", "count": 1}
        )
        pending = [r for r in self.rt.faults.rules if r.spec == spec and r.fired == 0]
        if not pending:
            self.rt.faults.add(spec)
        return {"method": method, "path": path}

    @staticmethod
    def pick(source: Obj, names: Iterable[str]) -> Obj:
        return {n: source[n] for n in names if n in source}
