"""/_sim/seed loads all or nothing, and nothing it loads can break a later request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.synth import SynthParams, generate
from simulators.kit.seeding import cycle_members
from simulators.kit.state import SeedRejected
from simulators.testing import SimHarness, sim_client, state_of

pytestmark = pytest.mark.anyio

NDJSON = {"Content-Type": "application/x-ndjson"}
STAMPS = {"version": 1, "external_id": None, "correlation_id": None,
          "created_at": "2026-01-01T00:00:00.000000Z",
          "updated_at": "2026-01-01T00:00:00.000000Z"}  # fmt: skip


def _account(object_id: str, parent_id: str | None = None) -> dict[str, Any]:
    return {**STAMPS, "id": object_id, "name": f"Account {object_id}", "parent_id": parent_id}


def _contact(object_id: str, account_id: str) -> dict[str, Any]:
    return {**STAMPS, "id": object_id, "account_id": account_id, "first_name": "Ada",
            "last_name": "Lovelace", "email": "ada@example.com"}  # fmt: skip


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """One small generated data set, as templates of valid objects of every type."""
    folder: Path = tmp_path_factory.mktemp("seed")
    generate(SynthParams(accounts=4, seed=3), folder)
    out = {}
    for path in folder.glob("*.ndjson"):
        if path.stem != "events":
            out[path.stem] = [json.loads(line) for line in path.read_text().splitlines()]
    return out


@pytest.fixture
async def crm():
    async with sim_client("crm") as client:
        yield SimHarness(client)


async def _seed(h: SimHarness, objects: dict[str, list[Any]], status: int = 200) -> Any:
    return await h.call("POST", "/_sim/seed", status, json={"objects": objects})


async def _rejected(h: SimHarness, **kwargs: Any) -> list[dict[str, Any]]:
    body = await h.refused("POST", "/_sim/seed", 422, "seed_rejected", **kwargs)
    assert sum(len(c) for c in state_of(h.c.app).store.collections.values()) == 0  # type: ignore[attr-defined]
    return body["errors"]


# -- nesting and parsing -------------------------------------------------------------------


@pytest.mark.parametrize("ndjson", [False, True])
async def test_deep_nesting_is_refused_with_422_not_a_500(crm, ndjson):
    deep = "[" * 10_000 + "]" * 10_000
    if ndjson:
        kwargs: dict[str, Any] = {"content": deep + "\n", "headers": NDJSON}
    else:
        kwargs = {"content": '{"objects": {"account": [' + deep + "]}}",
                  "headers": {"Content-Type": "application/json"}}  # fmt: skip
    body = await crm.refused("POST", "/_sim/seed", 422, "seed_too_deep", **kwargs)
    assert "deep" in body["detail"]
    await crm.call("GET", "/_sim/health", 200)


async def test_ndjson_errors_name_the_line_counting_blank_lines(crm):
    lines = [
        json.dumps({"object_type": "account", "object": _account("acc_1")}),
        "",
        json.dumps({"object_type": "account", "object": {**_account("acc_2"), "segment": "x"}}),
        "   ",
        "{not json",
        json.dumps({"object_type": "contact", "object": _contact("con_1", "acc_404")}),
    ]
    errors = await _rejected(crm, content="\r\n".join(lines) + "\n", headers=NDJSON)
    by_line = {e["line"]: e for e in errors}
    assert by_line[5]["field"] == "(line)"
    assert by_line[3]["object_type"] == "account"
    assert by_line[3]["index"] == 1
    assert by_line[3]["id"] == "acc_2"
    assert by_line[3]["field"] == "segment"
    assert by_line[6]["id"] == "con_1"
    assert by_line[6]["field"] == "account_id"
    assert set(by_line) == {3, 5, 6}


async def test_ndjson_line_without_object_type_is_named(crm):
    content = "\n" + json.dumps({"object": _account("acc_1")}) + "\n"
    errors = await _rejected(crm, content=content, headers=NDJSON)
    assert errors[0]["line"] == 2
    assert errors[0]["field"] == "object_type"


# -- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["", "a" * 101, "acc 1", "acc/1", "acc_²", "_acc"])
async def test_ids_are_1_to_100_safe_characters(crm, bad_id):
    errors = await _rejected(crm, json={"objects": {"account": [_account(bad_id)]}})
    assert errors[0]["field"] == "id"


async def test_reference_fields_are_bounded_like_ids(crm):
    errors = await _rejected(
        crm, json={"objects": {"account": [_account("acc_1", parent_id="p" * 10_000)]}}
    )
    assert errors[0]["field"] == "parent_id"


@pytest.mark.parametrize("bad_id", ["acc 1", "a" * 101, ""])
async def test_provider_states_bound_ids_the_same_way(crm, bad_id):
    await crm.refused("POST", "/_sim/provider-states", 422, "invalid_id",
                      json={"state": "an account exists", "params": {"id": bad_id}})  # fmt: skip
    assert (await crm.call("GET", "/accounts", 200))["data"] == []


async def test_a_100_character_id_is_fine(crm):
    await _seed(crm, {"account": [_account("acc_" + "a" * 96)]})


# -- references and the hierarchy ----------------------------------------------------------


async def test_a_dangling_parent_is_refused(crm):
    errors = await _rejected(crm, json={"objects": {"account": [_account("acc_1", "acc_404")]}})
    assert errors[0] | {"message": ""} == {
        "object_type": "account", "index": 0, "id": "acc_1", "field": "parent_id", "message": "",
    }  # fmt: skip


async def test_parents_in_the_same_batch_or_already_stored_are_fine(crm):
    await _seed(crm, {"account": [_account("acc_2", "acc_1"), _account("acc_1")]})
    await _seed(crm, {"account": [_account("acc_3", "acc_2")],
                      "contact": [_contact("con_1", "acc_3")]})  # fmt: skip
    subs = await crm.call("GET", "/accounts/acc_1/subsidiaries", 200)
    assert [a["id"] for a in subs["data"]] == ["acc_2"]


@pytest.mark.parametrize(
    "accounts",
    [
        [("acc_1", "acc_1")],
        [("acc_1", "acc_2"), ("acc_2", "acc_1")],
        [("acc_0", None), ("acc_1", "acc_3"), ("acc_2", "acc_1"), ("acc_3", "acc_2")],
    ],
)
async def test_a_hierarchy_cycle_is_refused(crm, accounts):
    errors = await _rejected(
        crm, json={"objects": {"account": [_account(i, p) for i, p in accounts]}}
    )
    assert {e["field"] for e in errors} == {"parent_id"}
    assert all("cycle" in e["message"] for e in errors)


async def test_a_seeded_hierarchy_can_be_patched_afterwards(crm):
    await _seed(crm, {"account": [_account("acc_1"), _account("acc_2", "acc_1")]})
    await crm.refused("PATCH", "/accounts/acc_1", 422, "hierarchy_cycle",
                      json={"parent_id": "acc_2"})  # fmt: skip


@pytest.mark.parametrize(
    ("system", "object_type", "field"),
    [
        ("crm", "contact", "account_id"),
        ("crm", "opportunity", "account_id"),
        ("cpq", "quote", "price_book_id"),
        ("billing", "subscription", "customer_id"),
        ("billing", "invoice", "customer_id"),
        ("billing", "payment", "invoice_id"),
        ("support", "case", "organization_id"),
        ("support", "entitlement", "organization_id"),
        ("erp", "sales_order", "customer_id"),
        ("erp", "ar_invoice", "customer_id"),
    ],
)
async def test_in_system_references_must_resolve(generated, system, object_type, field):
    obj = {**generated[object_type][0], field: "zz_missing"}
    async with sim_client(system) as client:
        errors = await _rejected(SimHarness(client), json={"objects": {object_type: [obj]}})
    assert (errors[0]["object_type"], errors[0]["field"]) == (object_type, field)


@pytest.mark.parametrize(
    ("system", "object_type", "path"),
    [("cpq", "quote", ("lines", "product_id")), ("erp", "sales_order", ("lines", "item_id"))],
)
async def test_references_inside_lines_must_resolve(generated, system, object_type, path):
    obj = next(o for o in generated[object_type] if o[path[0]])
    obj = {**obj, path[0]: [{**obj[path[0]][0], path[1]: "zz_missing"}]}
    async with sim_client(system) as client:
        errors = await _rejected(SimHarness(client), json={"objects": {object_type: [obj]}})
    assert f"{path[0]}.0.{path[1]}" in {e["field"] for e in errors}


# -- what the systems' own code reads back -------------------------------------------------


@pytest.mark.parametrize("number", ["INV-²", "INV-١٢", "", "INV 7", "x" * 65])
async def test_billing_refuses_an_invoice_number_it_could_not_continue(generated, number):
    customers = generated["billing_customer"]
    invoice = {**next(i for i in generated["invoice"] if i["customer_id"] == customers[0]["id"]),
               "subscription_id": None, "number": number}  # fmt: skip
    async with sim_client("billing") as client:
        h = SimHarness(client)
        errors = await _rejected(
            h, json={"objects": {"billing_customer": customers[:1], "invoice": [invoice]}}
        )
        assert errors[0]["field"] == "number"
        await h.call("GET", "/invoices", 200)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "9999-12-31T23:00:00Z"),
        ("resolution_due_at", "3000-01-01T00:00:00Z"),
        ("created_at", "1969-12-31T23:59:59Z"),
        ("comments.0.created_at", "9999-01-01T00:00:00Z"),
    ],
)
async def test_dates_the_clock_could_never_reach_are_refused(generated, field, value):
    case = next(c for c in generated["case"] if c.get("entitlement_id"))
    case = {**case, "status": "open", "solved_at": None, "closed_at": None}
    if field.startswith("comments"):
        case["comments"] = [{"id": "c1", "author": "Ada", "body": "On it", "created_at": value}]
    else:
        case[field] = value
    org = [o for o in generated["organization"] if o["id"] == case["organization_id"]]
    ent = [e for e in generated["entitlement"] if e["id"] == case["entitlement_id"]]
    async with sim_client("support") as client:
        h = SimHarness(client)
        errors = await _rejected(
            h, json={"objects": {"organization": org, "entitlement": ent, "case": [case]}}
        )
        assert errors[0]["field"] == field
        assert "3000-01-01" in errors[0]["message"]


# -- all or nothing ------------------------------------------------------------------------


async def test_a_failure_while_inserting_rolls_back_what_was_inserted(crm, monkeypatch):
    state = state_of(crm.c.app)  # type: ignore[attr-defined]
    await _seed(crm, {"account": [_account("acc_0")]})
    contacts = state.col("contact")
    real_insert = contacts.insert
    calls = []

    def failing_insert(obj):
        calls.append(obj["id"])
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real_insert(obj)

    monkeypatch.setattr(contacts, "insert", failing_insert)
    batch = {"account": [_account("acc_1")],
             "contact": [_contact("con_1", "acc_1"), _contact("con_2", "acc_1")]}  # fmt: skip
    with pytest.raises(RuntimeError):
        state.seed(batch)
    assert [a["id"] for a in state.col("account")] == ["acc_0"]
    assert len(contacts) == 0
    assert contacts.by("account_id", "acc_1") == []
    monkeypatch.undo()
    assert (await _seed(crm, batch))["loaded"] == {"account": 1, "contact": 2}


async def test_a_failing_after_seed_hook_rolls_the_batch_back(crm, monkeypatch):
    state = state_of(crm.c.app)  # type: ignore[attr-defined]

    def broken(loaded):
        raise RuntimeError("derived state could not be rebuilt")

    monkeypatch.setattr(state, "after_seed", broken)
    with pytest.raises(RuntimeError):
        state.seed({"account": [_account("acc_1"), _account("acc_2", "acc_1")]})
    assert len(state.col("account")) == 0
    assert state.col("account").by("parent_id", "acc_1") == []


# -- cycles, against their definition ------------------------------------------------------


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.none() | st.sampled_from("abcdefghxy")))
def test_cycle_members_are_exactly_the_objects_that_are_their_own_ancestors(parents):
    def own_ancestor(start: str) -> bool:
        current, steps = parents.get(start), 0
        while current is not None and current in parents and steps <= len(parents):
            if current == start:
                return True
            current, steps = parents[current], steps + 1
        return False

    assert cycle_members(parents) == {i for i in parents if own_ancestor(i)}


_ACCOUNT_IDS = st.sampled_from(["acc_1", "acc_2", "acc_3", "acc_4", "", "acc 5"])


@settings(max_examples=80)
@given(
    first=st.lists(st.tuples(_ACCOUNT_IDS, st.none() | _ACCOUNT_IDS), max_size=4),
    second=st.lists(st.tuples(_ACCOUNT_IDS, st.none() | _ACCOUNT_IDS), max_size=4),
)
def test_any_seed_loads_whole_or_changes_nothing(first, second):
    from simulators.crm.state import CrmState
    from simulators.kit.runtime import Runtime

    state = CrmState(Runtime("crm"))
    for batch in (first, second):
        before = {o["id"]: o["parent_id"] for o in state.col("account")}
        try:
            state.seed({"account": [_account(i, p) for i, p in batch]})
        except SeedRejected:
            assert {o["id"]: o["parent_id"] for o in state.col("account")} == before
            continue
        parents = {o["id"]: o["parent_id"] for o in state.col("account")}
        assert parents == before | dict(batch)
        assert all(p is None or p in parents for p in parents.values())
        assert cycle_members(parents) == set()
