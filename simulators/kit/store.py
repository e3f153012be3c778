"""In-memory object store: collections of JSON-ready dicts with versions and indexes.

Objects are replaced, never mutated in place, so an event or a cached response
that holds an old dict keeps seeing the old state. Every change is recorded in the
transaction in progress (``kit/uow.py``), which can undo it.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import gc
import hashlib
import heapq
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulators.kit.errors import Conflict, Invalid, NotFound
from simulators.kit.uow import current_unit

__all__ = ["Collection", "CollectionSpec", "Page", "Store", "decode_cursor", "encode_cursor"]

Obj = dict[str, Any]

# Stored objects live until reset, so each full cyclic-GC pass would walk all of them
# (100-350 ms pauses at 100k objects: target 3 of docs/benchmarks.md). Every few thousand
# inserts the young generations are collected and the survivors frozen: full passes
# then only walk what arrived since. The store holds no cycles; reference counting
# still frees replaced versions.
FREEZE_EVERY_INSERTS = 5_000
_inserts_since_freeze = 0


def _note_insert() -> None:
    global _inserts_since_freeze
    _inserts_since_freeze += 1
    if _inserts_since_freeze >= FREEZE_EVERY_INSERTS:
        _inserts_since_freeze = 0
        gc.collect(1)
        gc.freeze()


@dataclass(frozen=True)
class CollectionSpec:
    """One object type of a system: its name, the fields indexed, and which are unique.

    ``references`` maps a field to the object type of the same system it names
    (``{"parent_id": "account"}``; ``"lines.item_id"`` for a field of each line), so
    ``/_sim/seed`` refuses objects that point at nothing. ``derived`` names indexes
    keyed by a value computed from the object (None: not in the index), such as the
    date a live subscription falls due: the scheduler takes the lowest key of one
    (``kit/scheduler.py``) instead of reading every object.
    """

    object_type: str
    indexed: tuple[str, ...] = ("external_id",)
    unique: tuple[str, ...] = ()
    label: str = ""
    references: Mapping[str, str] = field(default_factory=dict)
    derived: Mapping[str, Callable[[Obj], Any]] = field(default_factory=dict)

    @property
    def noun(self) -> str:
        return self.label or self.object_type.replace("_", " ")


@dataclass
class Page:
    data: list[Obj]
    next_cursor: str | None


# A cursor is ``<position>.<tag>`` in URL-safe base64: the tag is a short hash of the
# collection and the filter the page was drawn with, so a cursor only continues the list
# it came from (docs/control-plane.md, lists).
_CURSOR = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{8})")


def _cursor_tag(object_type: str, scope: str) -> str:
    digest = hashlib.blake2b(f"{object_type}\0{scope}".encode(), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode()


def encode_cursor(position: int, object_type: str = "", scope: str = "") -> str:
    """The cursor of ``position`` in the list of ``object_type`` filtered by ``scope``."""
    raw = f"{position}.{_cursor_tag(object_type, scope)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, object_type: str = "", scope: str = "") -> int:
    """The position a cursor stands for; 422 ``invalid_cursor`` unless issued for this list."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, binascii.Error):
        raw = ""
    match = _CURSOR.fullmatch(raw)
    if match is None:
        raise Invalid(
            "invalid_cursor",
            "cursor is not one this simulator issued",
            [{"field": "cursor", "message": "unknown cursor"}],
        )
    if match[2] != _cursor_tag(object_type, scope):
        raise Invalid(
            "invalid_cursor",
            "cursor belongs to another list (another object type or other filters)",
            [{"field": "cursor", "message": "send it with the list and filters it came from"}],
        )
    return int(match[1])


# What a collection holds: objects by id, their order, the indexes (for undoing a clear).
_Contents = tuple[dict[str, Obj], list[str], dict[str, dict[Any, list[str]]], dict[str, int]]


def _unindex(index: dict[Any, list[str]], value: Any, object_id: str) -> None:
    ids = index[value]
    ids.remove(object_id)
    if not ids:
        del index[value]  # no empty entries: an index equals one rebuilt from the objects


@dataclass
class Collection:
    """The objects of one type, in insertion order, with secondary indexes."""

    spec: CollectionSpec
    enforce_unique: bool = True
    _objects: dict[str, Obj] = field(default_factory=dict)
    _order: list[str] = field(default_factory=list)
    _indexes: dict[str, dict[Any, list[str]]] = field(default_factory=dict)
    # Bumped by every change but an insert's append to the indexes: while it stands, an
    # index entry has only grown at its end, which is what ``sum_by`` builds on.
    _generation: int = 0
    _sums: dict[Hashable, tuple[int, int, int]] = field(default_factory=dict)
    # A number per stored id, rising in insertion order: ``_order`` is always sorted by
    # it (an undone remove goes back to its place), so a page drawn from an index finds
    # where its objects stand in the order by bisection.
    _seq: dict[str, int] = field(default_factory=dict)
    _next_seq: int = 0
    _derived: tuple[tuple[str, Callable[[Obj], Any]], ...] = ()
    # The keys of each derived index as a heap (stale keys dropped when met), so the
    # lowest key and the keys up to a bound come without a pass over every key.
    _heaps: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._indexes = self._empty_indexes()
        self._derived = tuple(self.spec.derived.items())
        self._rebuild_heaps()

    def _empty_indexes(self) -> dict[str, dict[Any, list[str]]]:
        return {name: {} for name in (*self.spec.indexed, *self.spec.derived)}

    def _rebuild_heaps(self) -> None:
        self._heaps = {name: list(self._indexes[name]) for name in self.spec.derived}
        for heap in self._heaps.values():
            heapq.heapify(heap)

    def _add_derived(self, name: str, value: Any, object_id: str) -> None:
        index = self._indexes[name]
        ids = index.get(value)
        if ids is not None:
            ids.append(object_id)
            return
        index[value] = [object_id]
        heap = self._heaps[name]
        if len(heap) > 2 * len(index) + 64:  # mostly stale keys: start again
            heap[:] = index
            heapq.heapify(heap)
        else:
            heapq.heappush(heap, value)

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._objects

    def __iter__(self) -> Iterator[Obj]:
        return iter(self._objects.values())

    def get(self, object_id: str) -> Obj:
        obj = self._objects.get(object_id)
        if obj is None:
            raise NotFound("not_found", f"no {self.spec.noun} with id {object_id!r}")
        return obj

    def find(self, object_id: str | None) -> Obj | None:
        return None if object_id is None else self._objects.get(object_id)

    def by(self, index: str, value: Any) -> list[Obj]:
        """Objects whose indexed field ``index`` equals ``value``."""
        return [self._objects[i] for i in self._indexes[index].get(value, ())]

    def sum_by(self, index: str, value: Any, term: Callable[[Obj], int], name: Hashable) -> int:
        """``sum(term(obj) for obj in self.by(index, value))``, in time for the new objects.

        The sum is kept under ``(index, value, name)``: the next call adds the terms of
        the objects inserted since, and any other change to the collection (replace,
        remove, clear, a rollback) makes it start over. ``name`` must stand for one
        ``term``: the same name with another function would add up two different sums.
        """
        ids = self._indexes[index].get(value, ())
        key = (index, value, name)
        kept = self._sums.get(key)
        objects = self._objects
        if kept is not None and kept[0] == self._generation and kept[1] <= len(ids):
            total = kept[2] + sum(term(objects[i]) for i in ids[kept[1] :])
        else:
            total = sum(term(objects[i]) for i in ids)
        self._sums[key] = (self._generation, len(ids), total)
        return total

    def count_by(self, index: str, value: Any) -> int:
        """How many objects have the indexed field ``index`` equal to ``value``."""
        return len(self._indexes[index].get(value, ()))

    def first_by(self, index: str, value: Any) -> Obj | None:
        ids = self._indexes[index].get(value)
        return self._objects[ids[0]] if ids else None

    def lowest(self, index: str) -> Any:
        """The lowest key of the derived index ``index``, None when it is empty."""
        keys, heap = self._indexes[index], self._heaps[index]
        while heap and heap[0] not in keys:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def upto(self, index: str, bound: Any) -> list[Obj]:
        """The objects whose key in the derived index ``index`` is at most ``bound``,
        lowest key first (each key costs a heap operation; no pass over every key)."""
        keys, heap = self._indexes[index], self._heaps[index]
        found: list[Any] = []
        while heap and heap[0] <= bound:
            key = heapq.heappop(heap)
            if key in keys and (not found or found[-1] != key):
                found.append(key)
        for key in found:
            heapq.heappush(heap, key)
        return [self._objects[i] for key in found for i in keys[key]]

    def check_unique(
        self, obj: Obj, ignore_id: str | None = None, fields: Iterable[str] | None = None
    ) -> None:
        """409 ``duplicate_<field>`` if another object holds a unique value of ``obj``."""
        if not self.enforce_unique:
            return
        for name in self.spec.unique if fields is None else fields:
            value = obj.get(name)
            if value is None:
                continue
            holders = [i for i in self._indexes[name].get(value, ()) if i != ignore_id]
            if holders:
                raise Conflict(
                    f"duplicate_{name}",
                    f"a {self.spec.noun} with {name} {value!r} already exists ({holders[0]})",
                    [{"field": name, "message": "already used", "existing_id": holders[0]}],
                )

    def insert(self, obj: Obj) -> Obj:
        object_id = obj["id"]
        if object_id in self._objects:
            raise Conflict("duplicate_id", f"a {self.spec.noun} with id {object_id!r} exists")
        self.check_unique(obj)
        # Derived keys first: a key function that raises leaves the collection untouched.
        derived = [(name, key(obj)) for name, key in self._derived]
        unit = current_unit()
        if unit is not None:
            unit.inserted(self, object_id)
        self._objects[object_id] = obj
        self._order.append(object_id)
        self._seq[object_id] = self._next_seq
        self._next_seq += 1
        indexes = self._indexes
        for name in self.spec.indexed:  # _index_all, inlined: every create
            value = obj.get(name)
            if value is not None:
                indexes[name].setdefault(value, []).append(object_id)
        for name, value in derived:
            if value is not None:
                self._add_derived(name, value, object_id)
        _note_insert()
        return obj

    def replace(self, new: Obj) -> Obj:
        """Store ``new`` in place of the object with its id; a refusal changes nothing."""
        object_id = new["id"]
        old = self.get(object_id)
        if self.spec.unique:
            changed = [n for n in self.spec.unique if old.get(n) != new.get(n)]
            if changed:
                # Every check before the first index moves: a refused change leaves no trace.
                self.check_unique(new, object_id, changed)
        derived = [(name, key(old), key(new)) for name, key in self._derived]
        unit = current_unit()
        if unit is not None:
            unit.replaced(self, old)
        self._swap(old, new, derived)
        return new

    def remove(self, object_id: str) -> None:
        obj = self.get(object_id)
        order = self._order
        # A seed rolled back removes newest first: O(1); provider states renaming an object
        # search the order: O(n).
        position = len(order) - 1 if order[-1] == object_id else order.index(object_id)
        unit = current_unit()
        if unit is not None:
            unit.removed(self, obj, position)
        del self._objects[object_id]
        del order[position]
        self._unindex_all(obj)

    # The inverse operations a rolled-back transaction applies (kit/uow.py), newest
    # first, so each finds the collection exactly as the operation it undoes left it.

    def unstore(self, object_id: str) -> None:
        """Undo ``insert``."""
        obj = self._objects.pop(object_id)
        order = self._order
        if order[-1] == object_id:
            order.pop()
        else:
            order.remove(object_id)
        self._unindex_all(obj)

    def restore(self, old: Obj) -> None:
        """Undo ``replace``: ``old`` is the version it replaced."""
        self._swap(self._objects[old["id"]], old)

    def reinsert(self, obj: Obj, position: int) -> None:
        """Undo ``remove``: back in its place in the order."""
        self._generation += 1
        objects, order = self._objects, self._order
        objects[obj["id"]] = obj
        order.insert(position, obj["id"])
        if position < len(order) - 1:  # iteration follows the dict: rebuild it in order
            self._objects = {i: objects[i] for i in order}
        self._index_all(obj)

    def refill(self, contents: _Contents) -> None:
        """Undo ``clear``."""
        self._generation += 1
        self._objects, self._order, self._indexes, self._seq = contents
        self._rebuild_heaps()

    def _index_all(self, obj: Obj) -> None:
        object_id = obj["id"]
        for name in self.spec.indexed:
            value = obj.get(name)
            if value is not None:
                self._indexes[name].setdefault(value, []).append(object_id)
        for name, key in self._derived:
            value = key(obj)
            if value is not None:
                self._add_derived(name, value, object_id)

    def _unindex_all(self, obj: Obj) -> None:
        self._generation += 1
        object_id = obj["id"]
        for name in self.spec.indexed:
            value = obj.get(name)
            if value is not None:
                _unindex(self._indexes[name], value, object_id)
        for name, key in self._derived:
            value = key(obj)
            if value is not None:
                _unindex(self._indexes[name], value, object_id)

    def _swap(self, old: Obj, new: Obj, derived: list[tuple[str, Any, Any]] | None = None) -> None:
        self._generation += 1
        object_id = new["id"]
        indexes = self._indexes
        for name in self.spec.indexed:
            index = indexes[name]
            before, after = old.get(name), new.get(name)
            if before == after:
                continue
            if before is not None:
                _unindex(index, before, object_id)
            if after is not None:
                index.setdefault(after, []).append(object_id)
        if derived is None:
            derived = [(name, key(old), key(new)) for name, key in self._derived]
        for name, before, after in derived:
            if before == after:
                continue
            if before is not None:
                _unindex(indexes[name], before, object_id)
            if after is not None:
                self._add_derived(name, after, object_id)
        self._objects[object_id] = new

    def page(
        self,
        limit: int,
        cursor: str | None = None,
        where: Callable[[Obj], bool] | None = None,
        scope: str = "",
        index: tuple[str, Any] | None = None,
    ) -> Page:
        """One page in insertion order; ``next_cursor`` is None on the last page.

        ``scope`` names the filter ``where`` applies (any text that differs when the filter
        does): a cursor is only accepted by the collection and scope that issued it.
        ``index`` is ``(field, value)`` of an indexed field that every object ``where``
        keeps has equal to ``value``: the page then looks at that index entry only, not
        at the whole collection, and is the same page.
        """
        object_type = self.spec.object_type
        start = decode_cursor(cursor, object_type, scope) if cursor else 0
        if index is not None and where is not None and index[0] in self._indexes:
            return self._indexed_page(limit, start, where, index, object_type, scope)
        data: list[Obj] = []
        order = self._order
        position = start
        while position < len(order) and len(data) < limit:
            obj = self._objects[order[position]]
            position += 1
            if where is None or where(obj):
                data.append(obj)
        more = position < len(order)
        if more and where is not None:
            more = any(where(self._objects[i]) for i in order[position:])
        return Page(data, encode_cursor(position, object_type, scope) if more else None)

    def _indexed_page(
        self, limit: int, start: int, where: Callable[[Obj], bool], index: tuple[str, Any],
        object_type: str, scope: str,
    ) -> Page:  # fmt: skip
        """``page`` over the ids of one index entry, in the order's order: the same page."""
        order, seq, objects = self._order, self._seq, self._objects
        if start >= len(order):
            return Page([], None)
        first = seq[order[start]]
        ids = sorted(self._indexes[index[0]].get(index[1], ()), key=seq.__getitem__)
        data: list[Obj] = []
        for n in range(bisect.bisect_left(ids, first, key=seq.__getitem__), len(ids)):
            obj = objects[ids[n]]
            if not where(obj):
                continue
            if len(data) == limit:  # one more match after a full page: there is a next
                last = seq[data[-1]["id"]]
                position = bisect.bisect_left(order, last, key=seq.__getitem__) + 1
                return Page(data, encode_cursor(position, object_type, scope))
            data.append(obj)
        return Page(data, None)

    def clear(self) -> None:
        unit = current_unit()
        if unit is not None:
            unit.cleared(self, (self._objects, self._order, self._indexes, self._seq))
        # Fresh containers rather than emptied ones: a rollback puts the old ones back.
        self._objects, self._order, self._seq = {}, [], {}
        self._indexes = self._empty_indexes()
        self._rebuild_heaps()
        self._generation += 1
        self._sums = {}


class Store:
    """All collections of one simulator, and its named counters (invoice numbers ...)."""

    def __init__(self, specs: Iterable[CollectionSpec]) -> None:
        self.collections: dict[str, Collection] = {s.object_type: Collection(s) for s in specs}
        self._counters: dict[str, int] = {}

    def __getitem__(self, object_type: str) -> Collection:
        return self.collections[object_type]

    def counter(self, name: str) -> int:
        """The last number counter ``name`` gave out (0 before the first)."""
        return self._counters.get(name, 0)

    def next_number(self, name: str) -> int:
        """The next number of counter ``name``: 1, 2, 3 ...; part of the transaction."""
        before = self._counters.get(name)
        unit = current_unit()
        if unit is not None:
            unit.counted(self, name, before)
        self._counters[name] = number = (before or 0) + 1
        return number

    def raise_counter(self, name: str, at_least: int) -> None:
        """Make counter ``name`` go on after ``at_least`` (numbers of seeded objects)."""
        before = self._counters.get(name)
        if (before or 0) >= at_least:
            return
        unit = current_unit()
        if unit is not None:
            unit.counted(self, name, before)
        self._counters[name] = at_least

    def reset_counter(self, name: str, before: int | None) -> None:
        """Undo a counter change: back to ``before`` (None: never counted)."""
        if before is None:
            self._counters.pop(name, None)
        else:
            self._counters[name] = before

    def clear(self) -> None:
        for collection in self.collections.values():
            collection.clear()
        unit = current_unit()
        for name, value in list(self._counters.items()):
            if unit is not None:
                unit.counted(self, name, value)
            del self._counters[name]

    def export(self) -> dict[str, list[Obj]]:
        return {name: list(c) for name, c in self.collections.items()}
