"""The in-memory store: a refused change leaves nothing behind; cursors know their list."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from simulators.kit.errors import Conflict, Invalid, NotFound
from simulators.kit.store import Collection, CollectionSpec, encode_cursor

# As support declares organizations: crm_account_id is indexed before the unique name.
ORGS = CollectionSpec(
    "organization", indexed=("external_id", "crm_account_id", "name"), unique=("name",)
)


def _org(object_id: str, name: str | None, account: str | None = None) -> dict[str, Any]:
    return {"id": object_id, "external_id": None, "name": name, "crm_account_id": account}


def _rebuilt(collection: Collection) -> dict[str, dict[Any, set[str]]]:
    """The indexes as they would be if built afresh from the stored objects."""
    rebuilt: dict[str, dict[Any, set[str]]] = {name: {} for name in collection.spec.indexed}
    for obj in collection:
        for name, index in rebuilt.items():
            if obj.get(name) is not None:
                index.setdefault(obj[name], set()).add(obj["id"])
    return rebuilt


def _indexes(collection: Collection) -> dict[str, dict[Any, set[str]]]:
    return {
        name: {value: set(ids) for value, ids in index.items()}
        for name, index in collection._indexes.items()
    }


def test_a_refused_replace_leaves_every_index_as_it_was():
    orgs = Collection(ORGS)
    orgs.insert(_org("org_a", "Acme", "acc_1"))
    orgs.insert(_org("org_b", "Beta", "acc_9"))
    with pytest.raises(Conflict) as refused:
        orgs.replace(_org("org_b", "Acme", "acc_2"))
    assert refused.value.code == "duplicate_name"
    assert orgs.get("org_b")["crm_account_id"] == "acc_9"
    assert _indexes(orgs) == _rebuilt(orgs)
    # The next change of the same object works (it used to fail on a stale index entry).
    orgs.replace(_org("org_b", "Beta Ltd", "acc_2"))
    assert [o["id"] for o in orgs.by("crm_account_id", "acc_2")] == ["org_b"]
    assert orgs.by("crm_account_id", "acc_9") == []


def test_remove_forgets_the_object_everywhere_and_unknown_ids_are_not_found():
    orgs = Collection(ORGS)
    orgs.insert(_org("org_a", "Acme", "acc_1"))
    orgs.insert(_org("org_b", "Beta", "acc_1"))
    orgs.remove("org_a")
    assert "org_a" not in orgs
    assert [o["id"] for o in orgs.page(10).data] == ["org_b"]
    assert _indexes(orgs) == _rebuilt(orgs)
    with pytest.raises(NotFound):
        orgs.remove("org_a")
    orgs.insert(_org("org_c", "Acme"))  # the name is free again


def test_unchanged_unique_values_are_not_rechecked_on_replace():
    orgs = Collection(ORGS)
    orgs.enforce_unique = False  # as a seed loads data: duplicates kept as given
    orgs.insert(_org("org_a", "Acme"))
    orgs.insert(_org("org_b", "Acme"))
    orgs.enforce_unique = True
    orgs.replace(_org("org_b", "Acme", "acc_7"))  # the name does not change
    assert orgs.get("org_b")["crm_account_id"] == "acc_7"


# -- cursors -------------------------------------------------------------------------------


def test_a_cursor_walks_its_own_list_to_the_end():
    orgs = Collection(ORGS)
    for n in range(5):
        orgs.insert(_org(f"org_{n}", f"Org {n}", "acc_1" if n % 2 else "acc_2"))
    seen, cursor = [], None
    while True:
        page = orgs.page(1, cursor, lambda o: o["crm_account_id"] == "acc_2", scope="acc_2")
        seen += [o["id"] for o in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ["org_0", "org_2", "org_4"]
    assert len(orgs.page(1).next_cursor or "") <= 32


def test_a_cursor_from_another_collection_or_filter_is_refused():
    orgs, cases = Collection(ORGS), Collection(CollectionSpec("case"))
    for n in range(3):
        orgs.insert(_org(f"org_{n}", f"Org {n}"))
        cases.insert({"id": f"case_{n}", "external_id": None})
    cursor = orgs.page(1).next_cursor
    assert cursor is not None
    for wrong in (
        lambda: cases.page(1, cursor),
        lambda: orgs.page(1, cursor, lambda o: True, scope="[('name', 'x')]"),
    ):
        with pytest.raises(Invalid) as refused:
            wrong()
        assert refused.value.code == "invalid_cursor"
    assert [o["id"] for o in orgs.page(1, cursor).data] == ["org_1"]


@pytest.mark.parametrize("cursor", ["=", "!!", "cDE", "cC0x", "wrI6YWJj", "x" * 40])
def test_a_cursor_the_store_did_not_issue_is_refused(cursor):
    orgs = Collection(ORGS)
    with pytest.raises(Invalid) as refused:
        orgs.page(1, cursor)
    assert refused.value.code == "invalid_cursor"


# -- any sequence of changes keeps the indexes whole ---------------------------------------


def _name_length(obj: dict[str, Any]) -> int:
    return len(obj["name"] or "")


def test_a_kept_sum_adds_new_objects_and_starts_over_after_any_other_change():
    orgs = Collection(ORGS)

    def total() -> int:
        return orgs.sum_by("crm_account_id", "acc_1", _name_length, "len")

    assert total() == 0
    orgs.insert(_org("org_a", "Acme", "acc_1"))
    orgs.insert(_org("org_b", "Beta Ltd", "acc_1"))
    orgs.insert(_org("org_c", "Gamma", "acc_2"))
    assert total() == 4 + 8
    orgs.insert(_org("org_d", "Delta", "acc_1"))
    assert total() == 4 + 8 + 5
    old = orgs.get("org_b")
    orgs.replace(_org("org_b", "B", "acc_1"))  # same index value, another term
    assert total() == 4 + 1 + 5
    orgs.restore(old)  # the undo operations of a rolled-back transaction (kit/uow.py)
    assert total() == 4 + 8 + 5
    removed = orgs.get("org_a")
    orgs.remove("org_a")
    assert total() == 8 + 5
    orgs.reinsert(removed, 0)
    assert total() == 4 + 8 + 5
    orgs.unstore("org_d")
    orgs.insert(_org("org_e", "Epsilon", "acc_1"))  # as many objects as before, others
    assert total() == 4 + 8 + 7
    contents = (orgs._objects, orgs._order, orgs._indexes, orgs._seq)
    orgs.clear()
    assert total() == 0
    orgs.refill(contents)
    assert total() == 4 + 8 + 7
    # Another name keeps its own sum over the same index entry.
    assert orgs.sum_by("crm_account_id", "acc_1", lambda o: 1, "count") == 3


def _walk(orgs: Collection, limit: int, account: str, indexed: bool) -> list[Any]:
    """Every page of the account's organizations, cursor by cursor."""
    pages: list[Any] = []
    cursor = None
    while True:
        page = orgs.page(limit, cursor, lambda o: o["crm_account_id"] == account, account,
                         ("crm_account_id", account) if indexed else None)  # fmt: skip
        pages.append(([o["id"] for o in page.data], page.next_cursor))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def _assert_indexed_pages_match(orgs: Collection) -> None:
    for account in ("acc_1", "acc_2", "acc_none"):
        for limit in (1, 2, 5):
            assert _walk(orgs, limit, account, True) == _walk(orgs, limit, account, False)


def test_a_page_drawn_from_an_index_is_the_page_of_the_whole_order_after_any_change():
    orgs = Collection(ORGS)
    for n in range(8):
        orgs.insert(_org(f"org_{n}", f"Org {n}", "acc_1" if n % 3 else "acc_2"))
    _assert_indexed_pages_match(orgs)
    # Moved to another account: last in that index entry, still in its place in the order.
    orgs.replace(_org("org_1", "Org 1", "acc_2"))
    _assert_indexed_pages_match(orgs)
    removed = orgs.get("org_4")
    orgs.remove("org_4")
    _assert_indexed_pages_match(orgs)
    orgs.reinsert(removed, 4)  # undone: back in its place, and last in its index entry
    _assert_indexed_pages_match(orgs)
    assert [o["id"] for o in orgs.page(3, None, lambda o: o["crm_account_id"] == "acc_2",
                                       "s", ("crm_account_id", "acc_2")).data] == [
        "org_0", "org_1", "org_3"]  # fmt: skip
    assert [o["id"] for o in orgs.page(9, None, lambda o: o["crm_account_id"] == "acc_1",
                                       "s", ("crm_account_id", "acc_1")).data] == [
        "org_2", "org_4", "org_5", "org_7"]  # fmt: skip
    contents = (orgs._objects, orgs._order, orgs._indexes, orgs._seq)
    orgs.clear()
    orgs.insert(_org("org_3", "Org 3 again", "acc_1"))  # an id of before the clear
    orgs.unstore("org_3")
    orgs.refill(contents)
    _assert_indexed_pages_match(orgs)
    # A cursor past the end, and a filter no object matches, are empty last pages.
    assert orgs.page(5, encode_cursor(99, "organization", "s"), lambda o: True, "s",
                     ("crm_account_id", "acc_1")).data == []  # fmt: skip


_IDS = st.sampled_from([f"org_{n}" for n in range(6)])
_NAMES = st.sampled_from(["Acme", "Beta", "Gamma", None])
_ACCOUNTS = st.sampled_from(["acc_1", "acc_2", None])


@settings(max_examples=60, stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow])
class StoreMachine(RuleBasedStateMachine):
    """Inserts, replaces and removes, some refused: the indexes always match the objects."""

    def __init__(self) -> None:
        super().__init__()
        self.orgs = Collection(ORGS)
        self.model: dict[str, dict[str, Any]] = {}

    def _name_taken(self, name: str | None, by_other_than: str | None) -> bool:
        return name is not None and any(
            o["name"] == name and i != by_other_than for i, o in self.model.items()
        )

    @rule(object_id=_IDS, name=_NAMES, account=_ACCOUNTS)
    def insert(self, object_id: str, name: str | None, account: str | None) -> None:
        obj = _org(object_id, name, account)
        if object_id in self.model or self._name_taken(name, None):
            with pytest.raises(Conflict):
                self.orgs.insert(obj)
        else:
            self.orgs.insert(obj)
            self.model[object_id] = obj

    @precondition(lambda self: self.model)
    @rule(data=st.data(), name=_NAMES, account=_ACCOUNTS)
    def replace(self, data: st.DataObject, name: str | None, account: str | None) -> None:
        object_id = data.draw(st.sampled_from(sorted(self.model)))
        obj = _org(object_id, name, account)
        changed = name != self.model[object_id]["name"]
        if changed and self._name_taken(name, object_id):
            with pytest.raises(Conflict):
                self.orgs.replace(obj)
        else:
            self.orgs.replace(obj)
            self.model[object_id] = obj

    @rule(object_id=_IDS)
    def remove(self, object_id: str) -> None:
        if object_id in self.model:
            self.orgs.remove(object_id)
            del self.model[object_id]
        else:
            with pytest.raises(NotFound):
                self.orgs.remove(object_id)

    @invariant()
    def indexes_equal_indexes_rebuilt_from_the_objects(self) -> None:
        assert _indexes(self.orgs) == _rebuilt(self.orgs)

    @invariant()
    def pages_drawn_from_an_index_equal_pages_of_the_whole_order(self) -> None:
        _assert_indexed_pages_match(self.orgs)

    @invariant()
    def kept_sums_equal_sums_from_scratch(self) -> None:
        for account in ("acc_1", "acc_2"):
            expected = sum(_name_length(o) for o in self.model.values()
                           if o["crm_account_id"] == account)  # fmt: skip
            assert self.orgs.sum_by("crm_account_id", account, _name_length, "len") == expected

    @invariant()
    def objects_and_order_match_the_model(self) -> None:
        assert {o["id"]: o for o in self.orgs} == self.model
        assert sorted(o["id"] for o in self.orgs.page(1000).data) == sorted(self.model)


TestStoreMachine = StoreMachine.TestCase


@pytest.mark.anyio
async def test_a_refused_patch_does_not_break_the_next_one():
    from simulators.testing import SimHarness, sim_client

    async with sim_client("support") as client:
        h = SimHarness(client)
        await h.call("POST", "/organizations", 201, json={"name": "A", "crm_account_id": "acc_1"})
        b = await h.call("POST", "/organizations", 201, json={"name": "B"})
        await h.refused("PATCH", f"/organizations/{b['id']}", 409, "duplicate_name",
                        json={"name": "A", "crm_account_id": "acc_2"})  # fmt: skip
        patched = await h.call("PATCH", f"/organizations/{b['id']}", 200, json={"name": "B2"})
        assert patched["crm_account_id"] is None
