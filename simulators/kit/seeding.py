"""What a seed batch must satisfy before anything of it is stored.

``SystemState.seed`` loads a batch only when every object fits its model, every id is
one the simulators could have made, every date lies in the clock's range, every
reference a system declares resolves inside the batch or the store, and no hierarchy
loops: a seeded object must never break a later request (docs/control-plane.md).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from simulators.kit.clock import CLOCK_LIMIT, format_instant
from simulators.kit.params import ID_PATTERN, MAX_ID_LENGTH
from simulators.kit.store import CollectionSpec

__all__ = [
    "EARLIEST_DATE",
    "MAX_ID_LENGTH",
    "cycle_members",
    "date_problems",
    "dated_fields",
    "id_problems",
    "is_safe_id",
    "problem",
    "reference_values",
    "self_references",
]

Obj = dict[str, Any]

# Ids the simulators make are ``<prefix>_<hex>``; pacts and seeds add their own. One
# rule for all (``kit.params``): 1 to 100 characters, letters, digits and ``_ . : -``,
# no leading separator, so an id is always safe in a URL path, a log line and a file name.
_SAFE_ID = re.compile(ID_PATTERN)
# Fields ending in _id that hold the caller's or the request's text, not one of our ids.
_NOT_IDS = frozenset({"external_id", "correlation_id"})
_ID_RULE = f"1 to {MAX_ID_LENGTH} of A-Z a-z 0-9 _ . : -, starting with a letter or digit"


def is_safe_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= MAX_ID_LENGTH
        and _SAFE_ID.fullmatch(value) is not None
    )


def problem(
    object_type: str | None,
    index: int | None,
    object_id: object,
    field: str,
    message: str,
    line: int | None = None,
) -> Obj:
    """One entry of a ``seed_rejected`` problem's ``errors``."""
    entry: Obj = {
        "object_type": object_type,
        "index": index,
        # An id out of bounds is named by its start: a 10,000-character id is not echoed.
        "id": object_id[:MAX_ID_LENGTH] if isinstance(object_id, str) else None,
        "field": field,
        "message": message,
    }
    if line is not None:
        entry["line"] = line
    return entry


def _id_fields(obj: Obj, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, value in obj.items():
        if name == "id" or (name.endswith("_id") and name not in _NOT_IDS):
            if value is not None:
                yield prefix + name, value
        elif not prefix and isinstance(value, list):
            for n, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _id_fields(item, f"{name}.{n}.")


def id_problems(obj: Obj) -> list[tuple[str, str]]:
    """(field, message) for every id in ``obj`` (its own, references, lines') out of bounds."""
    return [(name, f"not an id: {_ID_RULE}") for name, v in _id_fields(obj) if not is_safe_id(v)]


# Dates and instants in seeded objects lie where the clock can be: the rules add terms,
# SLAs and periods to them, and from 3000-01-01 on (the clock's limit) that arithmetic
# would leave datetime's range, or come close. Compared as text: the models have
# already checked the ISO 8601 form (four ASCII digits of year first).
EARLIEST_DATE = "1970-01-01"
_LATEST_DATE = format_instant(CLOCK_LIMIT)[:10]
_DATED = re.compile(r"\^\\d\{4\}-\\d\{2\}-\\d\{2\}")  # the Date and Timestamp patterns


def _is_dated(schema: Mapping[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(_DATED.match(str(option.get("pattern", ""))) for option in options)


@functools.cache
def dated_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Paths of the model's date and instant fields: ``created_at``, ``comments.created_at``."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    paths: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        if _is_dated(prop):
            paths.append(name)
        for option in prop.get("anyOf", [prop]):
            items = option.get("items", {}) if option.get("type") == "array" else {}
            if "$ref" in items:
                items = defs.get(items["$ref"].rsplit("/", 1)[-1], {})
            paths += [f"{name}.{sub}" for sub, p in items.get("properties", {}).items()
                      if _is_dated(p)]  # fmt: skip
    return tuple(paths)


def date_problems(model: type[BaseModel], obj: Obj) -> list[tuple[str, str]]:
    """(field, message) for every date or instant of ``obj`` the clock could never reach."""
    found = []
    for path in dated_fields(model):
        for field, value in reference_values(obj, path):
            if isinstance(value, str) and not EARLIEST_DATE <= value[:10] < _LATEST_DATE:
                found.append((field, f"outside {EARLIEST_DATE} to before {_LATEST_DATE}, "
                                     "the clock's range"))  # fmt: skip
    return found


def reference_values(obj: Obj, path: str) -> Iterator[tuple[str, Any]]:
    """The values at a reference path: ``parent_id``, or ``lines.item_id`` for each line."""
    head, _, tail = path.partition(".")
    if not tail:
        yield head, obj.get(head)
        return
    for n, item in enumerate(obj.get(head) or ()):
        if isinstance(item, dict):
            yield f"{head}.{n}.{tail}", item.get(tail)


def self_references(spec: CollectionSpec) -> list[str]:
    """Top-level fields that point at the same collection: a hierarchy (account parent_id)."""
    return [
        f for f, target in spec.references.items() if target == spec.object_type and "." not in f
    ]


def cycle_members(parents: Mapping[str, str | None]) -> set[str]:
    """Ids of batch objects (id -> parent id) whose chain of parents loops.

    Stored objects were checked when they arrived and cannot point into the batch, so
    a walk that leaves the batch has ended; a loop lies wholly inside the batch.
    """
    settled: set[str] = set()
    looped: set[str] = set()
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = start
        while current is not None and current in parents and current not in settled:
            if current in on_path:
                looped.update(path[path.index(current) :])
                break
            path.append(current)
            on_path.add(current)
            current = parents[current]
        settled.update(path)
    return looped
