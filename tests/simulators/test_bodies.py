"""Request bodies and provider states of all five systems, walked from their OpenAPI documents.

Strict numbers and flags with shared bounds, null refused where the canonical entity
cannot hold it, and provider states that check their params and build valid objects.
"""

from __future__ import annotations

import inspect
import re
import types
import typing

import pytest
from pydantic import TypeAdapter, ValidationError

from lifecycle.entities import SYSTEM_TYPES
from simulators.kit.bodies import MAX_BPS, MAX_MONEY_MINOR, MAX_QUANTITY
from simulators.kit.webhooks_api import WebhookEndpoint
from simulators.registry import SYSTEMS
from simulators.testing import sim_client, state_of

pytestmark = pytest.mark.anyio

METHODS = ("get", "post", "put", "patch", "delete")


def _business_operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS and "security" in op:
                yield method, re.sub(r"\{[^}]+\}", "x_1", path), op


def _resolve(doc, schema):
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _not_null(doc, schema):
    """The schema without its null alternative (``X | None`` bodies and fields)."""
    schema = _resolve(doc, schema)
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    return _resolve(doc, options[0]) if len(options) == 1 else schema


def _body_schema(doc, op):
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return None if content is None else _not_null(doc, content["schema"])


def _leaves(doc, schema, path=()):
    """(path in the body, schema) of every scalar field, through objects and arrays."""
    schema = _not_null(doc, schema)
    if schema.get("type") == "object" or "properties" in schema:
        for name, prop in schema.get("properties", {}).items():
            yield from _leaves(doc, prop, (*path, name))
    elif schema.get("type") == "array":
        yield from _leaves(doc, schema["items"], (*path, 0))
    else:
        yield path, schema


def _body_at(path, value):
    for step in reversed(path):
        value = [value] if step == 0 else {step: value}
    return value


def _named(response, field):
    return any(e["field"] == field for e in response.json().get("errors", []))


def _nullable(model, field):
    info = model.model_fields.get(field)
    if info is None:
        return False
    try:
        TypeAdapter(info.annotation).validate_python(None)
    except ValidationError:
        return False
    return True


# -- strict numbers and flags, shared bounds ---------------------------------------------------


@pytest.mark.parametrize("system", SYSTEMS)
async def test_numbers_and_flags_in_bodies_are_strict_and_bounded(system):
    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        checked = 0
        for method, path, op in _business_operations(doc):
            schema = _body_schema(doc, op)
            if schema is None:
                continue
            for where, leaf in _leaves(doc, schema):
                field = ".".join(["body", *map(str, where)])
                if leaf.get("type") == "integer":
                    assert "minimum" in leaf or "exclusiveMinimum" in leaf, (path, field)
                    assert "maximum" in leaf, (path, field)
                    name = str(where[-1])
                    if name.endswith("_minor"):
                        assert leaf["maximum"] == MAX_MONEY_MINOR, (path, field)
                    if name == "quantity":
                        assert leaf["maximum"] == MAX_QUANTITY, (path, field)
                    if name.endswith("_bps"):
                        assert leaf["maximum"] == MAX_BPS, (path, field)
                    bad = [True, "1", 1.0]
                elif leaf.get("type") == "boolean":
                    bad = [1, "true"]
                else:
                    continue
                for value in bad:
                    r = await c.request(method.upper(), path, json=_body_at(where, value))
                    assert r.status_code == 422, (method, path, field, value, r.text)
                    assert _named(r, field), (method, path, field, value, r.text)
                    checked += 1
        assert checked >= 2


# -- null on PATCH ----------------------------------------------------------------------------


def _patch_operations(doc, system):
    # Every system's own entities, and the kit's (webhook endpoints) beside them.
    models = {m.__name__: m for m in SYSTEM_TYPES[system].values()}
    models["WebhookEndpoint"] = WebhookEndpoint
    for method, path, op in _business_operations(doc):
        if method != "patch":
            continue
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        yield path, _body_schema(doc, op), models[ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize("system", SYSTEMS)
async def test_patch_refuses_null_where_the_canonical_entity_cannot_hold_it(system):
    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        checked = 0
        for path, schema, model in _patch_operations(doc, system):
            for field, prop in schema["properties"].items():
                r = await c.patch(path, json={field: None})
                allows_null = {"type": "null"} in prop.get("anyOf", [])
                if _nullable(model, field):
                    assert not _named(r, f"body.{field}"), (path, field, r.text)
                    assert allows_null, (path, field, "the schema should admit null")
                else:
                    assert r.status_code == 422, (path, field, r.text)
                    assert _named(r, f"body.{field}"), (path, field, r.text)
                    assert not allows_null, (path, field)
                    assert prop.get("type") != "null", (path, field)
                checked += 1
        assert checked >= 3


async def _objects_from_provider_states(c):
    for name in (await c.get("/_sim/provider-states")).json()["data"]:
        r = await c.post("/_sim/provider-states", json={"state": name, "params": {}})
        assert r.status_code == 200, (name, r.text)


@pytest.mark.parametrize("system", SYSTEMS)
async def test_an_export_after_patches_with_nulls_seeds_back(system):
    async with sim_client(system) as c:
        await _objects_from_provider_states(c)
        doc = (await c.get("/openapi.json")).json()
        types = {m.__name__: t for t, m in SYSTEM_TYPES[system].items()}
        for path, schema, model in _patch_operations(doc, system):
            if model.__name__ not in types:
                continue  # the kit's webhook endpoints are not exported or seeded
            for obj in (await c.get("/_sim/export")).json()["objects"][types[model.__name__]]:
                for field in schema["properties"]:
                    url = path.replace("x_1", obj["id"])
                    r = await c.patch(url, json={field: None})
                    assert r.status_code < 500, (url, field, r.text)
        exported = (await c.get("/_sim/export")).json()["objects"]
        assert (await c.post("/_sim/reset")).status_code < 300
        r = await c.post("/_sim/seed", json={"objects": exported})
        assert r.status_code == 200, r.text
        assert (await c.get("/_sim/export")).json()["objects"] == exported


# -- provider states ---------------------------------------------------------------------------


@pytest.mark.parametrize("system", SYSTEMS)
async def test_every_provider_state_builds_objects_its_canonical_model_accepts(system):
    async with sim_client(system) as c:
        await _objects_from_provider_states(c)
        exported = (await c.get("/_sim/export")).json()["objects"]
        assert any(exported.values())
        for object_type, objects in exported.items():
            model = SYSTEM_TYPES[system][object_type]
            for obj in objects:
                model.model_validate(obj)  # raises if incomplete or invalid


def _base_types(annotation):
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_base_types(a) for a in typing.get_args(annotation)))
    if origin is typing.Literal:
        return {type(v) for v in typing.get_args(annotation)}
    return {annotation}


def _wrong_values(annotation):
    """Values of the wrong JSON type for a provider-state parameter."""
    bases = _base_types(annotation)
    return [v for v, t in (("abc", str), (123, int)) if t not in bases]


@pytest.mark.parametrize("system", SYSTEMS)
async def test_provider_state_params_of_the_wrong_type_are_refused(system):
    async with sim_client(system) as c:
        state = state_of(c.app)
        checked = 0
        for name, attr in state.PROVIDER_STATES.items():
            method = getattr(state, attr)
            hints = typing.get_type_hints(inspect.unwrap(method), include_extras=True)
            for param in inspect.signature(inspect.unwrap(method)).parameters:
                if param == "self":
                    continue
                for value in _wrong_values(hints[param]):
                    r = await c.post(
                        "/_sim/provider-states", json={"state": name, "params": {param: value}}
                    )
                    assert r.status_code == 422, (name, param, value, r.text)
                    body = r.json()
                    assert body["code"] == "invalid_provider_state_params", (name, param)
                    assert _named(r, f"params.{param}"), (name, param, r.text)
                    checked += 1
            r = await c.post(
                "/_sim/provider-states", json={"state": name, "params": {"no_such_param": 1}}
            )
            assert r.status_code == 422, (name, r.text)
            assert r.json()["code"] == "invalid_provider_state_params"
        assert checked >= 2


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_provider_state_set_up_twice_with_ids_adds_nothing_the_second_time(system):
    async with sim_client(system) as c:
        state = state_of(c.app)
        for name, attr in state.PROVIDER_STATES.items():
            params = {
                p: f"{p.removesuffix('_id') or 'x'}_pact"
                for p in inspect.signature(inspect.unwrap(getattr(state, attr))).parameters
                if p == "id" or (p.endswith("_id") and p != "external_id")
            }
            first = await c.post("/_sim/provider-states", json={"state": name, "params": params})
            assert first.status_code == 200, (name, first.text)
            before = (await c.get("/_sim/export")).json()["objects"]
            again = await c.post("/_sim/provider-states", json={"state": name, "params": params})
            assert again.json() == first.json(), name
            after = (await c.get("/_sim/export")).json()["objects"]
            counts = {t: len(objs) for t, objs in after.items()}
            assert counts == {t: len(objs) for t, objs in before.items()}, name


@pytest.mark.parametrize("system", SYSTEMS)
async def test_every_sku_in_a_body_follows_the_one_sku_rule(system):
    """A SKU one system takes, every other takes, and it fits in a path segment."""
    from simulators.kit.bodies import MAX_SKU_LENGTH, SKU_PATTERN

    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        skus = 0
        for item in doc["paths"].values():
            for method, op in item.items():
                if method not in METHODS or (schema := _body_schema(doc, op)) is None:
                    continue
                for path, leaf in _leaves(doc, schema):
                    if path[-1] == "sku":
                        assert leaf.get("pattern") == SKU_PATTERN, (method, path)
                        assert leaf.get("maxLength") == MAX_SKU_LENGTH, (method, path)
                        skus += 1
        assert skus or system == "crm"


@pytest.mark.parametrize(
    ("system", "path", "body"),
    [
        ("erp", "/items", {"sku": "PLAT/ANNUAL", "name": "Platform", "type": "service"}),
        ("cpq", "/products", {"sku": "PLAT/ANNUAL", "name": "Platform", "family": "platform"}),
    ],
)
async def test_a_sku_with_a_slash_is_refused_naming_sku(system, path, body):
    async with sim_client(system) as c:
        r = await c.post(path, json=body)
        assert r.status_code == 422, r.text
        assert _named(r, "body.sku"), r.text
