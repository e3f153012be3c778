"""contracts.diff on small hand-written pairs, one kind of change each, and a real spec."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from contracts.diff import SpecError, diff_specs, load_spec
from contracts.specs import committed_spec


def _spec() -> dict[str, Any]:
    """A small API: create and read a widget; the body and the answer share components."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/widgets": {
                "post": {
                    "operationId": "create",
                    "parameters": [
                        {"name": "dry_run", "in": "query", "schema": {"type": "boolean"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/New"}}
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "ok",
                            "headers": {"ETag": {"schema": {"type": "string"}}},
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Widget"}
                                }
                            },
                        },
                        "409": {"description": "conflict"},
                    },
                }
            },
            "/widgets/{id}": {
                "get": {
                    "operationId": "read",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Widget"}
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "New": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 100},
                        "size": {"type": "integer", "minimum": 1, "maximum": 10},
                        "color": {"type": "string", "enum": ["red", "blue"]},
                        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                    },
                },
                "Widget": {
                    "allOf": [{"$ref": "#/components/schemas/Base"}],
                    "type": "object",
                    "required": ["id", "name", "status"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 100},
                        "status": {"type": "string", "enum": ["draft", "live"]},
                        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "owner": {"type": "string"},
                    },
                },
                "Base": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "string", "pattern": "^w_"}},
                },
            }
        },
    }


def _rules(old: dict[str, Any], new: dict[str, Any]) -> dict[str, bool]:
    return {c.rule: c.breaking for c in diff_specs(old, new).changes}


def _edit(fn: Any) -> dict[str, bool]:
    new = _spec()
    fn(new)
    return _rules(_spec(), new)


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]


def test_the_same_document_has_no_changes():
    assert diff_specs(_spec(), _spec()).changes == []


# (edit, rule, breaking): each edit is one kind of change.
CASES = [
    (lambda d: d["paths"].pop("/widgets/{id}"), "operation-removed", True),
    (lambda d: d["paths"]["/widgets/{id}"].__setitem__("delete", {"responses": {}}),
     "operation-added", False),
    (lambda d: d["paths"]["/widgets"]["post"]["responses"].pop("201"),
     "response-status-removed", True),
    (lambda d: d["paths"]["/widgets"]["post"]["responses"].pop("409"),
     "response-status-removed", True),
    (lambda d: d["paths"]["/widgets"]["post"]["responses"].__setitem__("422", {"description": "x"}),
     "response-status-added", False),
    (lambda d: _schemas(d)["Widget"]["properties"].pop("owner"), "response-property-removed", True),
    (lambda d: _schemas(d)["Widget"]["properties"].__setitem__(
        "holder", _schemas(d)["Widget"]["properties"].pop("owner")),
     "response-property-renamed", True),
    (lambda d: _schemas(d)["Base"]["properties"].pop("id"), "response-property-removed", True),
    (lambda d: _schemas(d)["Widget"]["properties"].__setitem__("extra", {"type": "string"}),
     "response-property-added", False),
    (lambda d: _schemas(d)["Widget"]["properties"]["status"]["enum"].append("archived"),
     "response-enum-value-added", True),
    (lambda d: _schemas(d)["Widget"]["properties"]["owner"].__setitem__("type", ["string", "null"]),
     "response-type-widened", True),
    (lambda d: _schemas(d)["Widget"]["properties"]["note"].__setitem__(
        "anyOf", [{"type": "string"}]),
     "response-type-narrowed", False),
    (lambda d: _schemas(d)["Widget"]["properties"]["name"].__setitem__("maxLength", 200),
     "response-maxLength-widened", True),
    (lambda d: _schemas(d)["Widget"]["required"].remove("status"),
     "response-property-became-optional", True),
    (lambda d: _schemas(d)["New"]["required"].append("size"),
     "request-property-became-required", True),
    (lambda d: _schemas(d)["New"]["properties"].__setitem__("weight", {"type": "integer"}),
     "request-property-added", False),
    (lambda d: (_schemas(d)["New"]["properties"].__setitem__("weight", {"type": "integer"}),
                _schemas(d)["New"]["required"].append("weight")),
     "request-property-added-required", True),
    (lambda d: _schemas(d)["New"]["properties"].pop("tags"), "request-property-removed", True),
    (lambda d: _schemas(d)["New"]["properties"]["color"]["enum"].remove("blue"),
     "request-enum-value-removed", True),
    (lambda d: _schemas(d)["New"]["properties"]["color"]["enum"].append("green"),
     "request-enum-value-added", False),
    (lambda d: _schemas(d)["New"]["properties"]["size"].__setitem__("type", "string"),
     "request-type-narrowed", True),
    (lambda d: _schemas(d)["New"]["properties"]["size"].__setitem__("type", ["integer", "string"]),
     "request-type-widened", False),
    (lambda d: _schemas(d)["New"]["properties"]["name"].__setitem__("maxLength", 50),
     "request-maxLength-tightened", True),
    (lambda d: _schemas(d)["New"]["properties"]["name"].__setitem__("maxLength", 500),
     "request-maxLength-widened", False),
    (lambda d: _schemas(d)["New"]["properties"]["name"].__setitem__("minLength", 3),
     "request-minLength-tightened", True),
    (lambda d: _schemas(d)["New"]["properties"]["size"].__setitem__("maximum", 5),
     "request-maximum-tightened", True),
    (lambda d: _schemas(d)["New"]["properties"]["size"].__setitem__("minimum", 2),
     "request-minimum-tightened", True),
    (lambda d: _schemas(d)["New"]["properties"]["size"].__setitem__("minimum", 0),
     "request-minimum-widened", False),
    (lambda d: _schemas(d)["New"]["properties"]["tags"].__setitem__("maxItems", 2),
     "request-maxItems-tightened", True),
    (lambda d: _schemas(d)["New"]["properties"]["name"].__setitem__("pattern", "^[a-z]+$"),
     "request-pattern-added", True),
    (lambda d: _schemas(d)["Base"]["properties"]["id"].__setitem__("pattern", "^wid_"),
     "response-pattern-changed", False),
    (lambda d: d["paths"]["/widgets"]["post"]["parameters"].append(
        {"name": "X-Tenant", "in": "header", "required": True, "schema": {"type": "string"}}),
     "request-parameter-added-required", True),
    (lambda d: d["paths"]["/widgets"]["post"]["parameters"].append(
        {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}),
     "request-parameter-added", False),
    (lambda d: d["paths"]["/widgets"]["post"]["parameters"][0].__setitem__("required", True),
     "request-parameter-became-required", True),
    (lambda d: d["paths"]["/widgets"]["post"]["parameters"].pop(), "request-parameter-removed",
     False),
    (lambda d: d["paths"]["/widgets"]["post"]["responses"]["201"]["headers"].pop("ETag"),
     "response-header-removed", True),
    (lambda d: d["paths"]["/widgets"]["post"]["requestBody"]["content"].__setitem__(
        "application/xml", {}), "request-media-type-added", False),
    (lambda d: d["paths"]["/widgets/{id}"]["get"].__setitem__("security", [{"k": []}]),
     "security-added", True),
    (lambda d: d["paths"]["/widgets/{id}"]["get"].__setitem__("deprecated", True),
     "operation-deprecated", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "rule", "breaking"), CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_kind_of_change_is_classified(edit, rule, breaking):
    rules = _edit(edit)
    assert rule in rules, rules
    assert rules[rule] is breaking


def test_a_shared_component_counts_once_per_operation_that_reads_it():
    new = _spec()
    _schemas(new)["Widget"]["properties"].pop("owner")
    changes = [c for c in diff_specs(_spec(), new).changes if c.rule == "response-property-removed"]
    assert sorted(c.operation for c in changes) == ["GET /widgets/{id}", "POST /widgets"]
    assert all(c.where.endswith(".owner") for c in changes)


def test_a_renamed_path_parameter_is_the_same_operation():
    new = json.loads(json.dumps(_spec()).replace("{id}", "{widget_id}"))
    new["paths"]["/widgets/{widget_id}"]["get"]["parameters"][0]["name"] = "widget_id"
    assert diff_specs(_spec(), new).changes == []


def test_a_recursive_schema_does_not_loop():
    old = _spec()
    _schemas(old)["Widget"]["properties"]["parent"] = {"$ref": "#/components/schemas/Widget"}
    new = copy.deepcopy(old)
    _schemas(new)["Widget"]["properties"].pop("owner")
    assert "response-property-removed" in _rules(old, new)


def test_a_real_simulator_spec_mutated():
    old = json.loads(committed_spec("erp") or "{}")
    new = copy.deepcopy(old)
    schemas = new["components"]["schemas"]
    schemas["SalesOrderCreate"]["required"].append("memo")  # was optional
    schemas["SalesOrder"]["properties"].pop("currency")  # every order read loses it
    del new["paths"]["/periods/{name}/reopen"]
    report = diff_specs(old, new)
    breaking = {(c.rule, c.operation) for c in report.breaking}
    assert ("operation-removed", "POST /periods/{name}/reopen") in breaking
    assert ("request-property-became-required", "POST /sales-orders") in breaking
    assert ("response-property-removed", "GET /sales-orders/{order_id}") in breaking
    assert report.non_breaking == []
    assert diff_specs(new, old).breaking == []  # the way back only adds and loosens


def test_load_spec_refuses_what_is_not_openapi(tmp_path):
    (tmp_path / "a.json").write_text('{"swagger": "2.0"}')
    (tmp_path / "b.yaml").write_text("openapi: [unclosed")
    with pytest.raises(SpecError, match="not an OpenAPI 3 document"):
        load_spec(tmp_path / "a.json")
    with pytest.raises(SpecError, match="neither JSON nor YAML"):
        load_spec(tmp_path / "b.yaml")
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.json")


def test_a_malformed_document_is_a_spec_error_not_a_crash():
    new = _spec()
    new["paths"]["/widgets"]["post"]["responses"] = ["201"]
    with pytest.raises(SpecError, match="malformed OpenAPI at POST /widgets"):
        diff_specs(_spec(), new)


def test_yaml_documents_load(tmp_path):
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(_spec()))
    assert diff_specs(_spec(), load_spec(tmp_path / "s.yaml")).changes == []
