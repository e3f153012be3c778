"""OpenAPI links for the lifecycle of each resource: create -> read -> update -> transition.

Links tell a client (and Schemathesis' stateful phase) that the ``id`` a create
returns is the path parameter of the resource's read, update and transition
operations, so sequences of calls can be generated from the document alone. They
are derived from the routes' shape (``POST /things`` -> ``/things/{thing_id}``...),
so a new resource gets its links with no extra metadata.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["add_links"]

_ITEM = re.compile(r"^(?P<base>/[^{}]+)/\{(?P<param>[^{}/]+)\}(?P<rest>(/[^{}/]+)?)$")


def _ref_schema(doc: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = doc["components"]["schemas"].get(ref.rsplit("/", 1)[1], {})
        return found
    return schema if isinstance(schema, dict) else {}


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for status in ("201", "200"):
        if status in op.get("responses", {}):
            return status, op["responses"][status]
    return None


def add_links(doc: dict[str, Any]) -> None:
    """Write ``links`` into the success responses of create, update and transition operations."""
    paths: dict[str, Any] = doc.get("paths", {})
    # base collection path -> [(item path, method, operationId, path parameter)]
    family: dict[str, list[tuple[str, str, str, str]]] = {}
    for path, item in paths.items():
        match = _ITEM.match(path)
        if not match or path.startswith("/_sim/"):
            continue
        for method, op in item.items():
            rest = match["rest"]
            # The item's own read and update, and its transitions (POST /things/{id}/verb).
            own = (not rest and method in ("get", "patch")) or (rest and method == "post")
            if own and op.get("operationId"):
                family.setdefault(match["base"], []).append(
                    (path, method, op["operationId"], match["param"])
                )
    for base, members in family.items():
        create = paths.get(base, {}).get("post")
        if create is not None:
            found = _success(create)
            if found and "id" in _ref_schema(doc, found[1]).get("properties", {}):
                _link(found[1], members, "$response.body#/id", skip=None)
                _link_referrers(doc, found[1], members[0][3])
        for path, method, op_id, param in members:
            op = paths[path][method]
            found = _success(op)
            if found is None or found[0] != "200":
                continue  # a sub-resource create (POST /cases/{id}/comments) answers 201
            _link(found[1], members, f"$request.path.{param}", skip=op_id)


def _link_referrers(doc: dict[str, Any], response: dict[str, Any], param: str) -> None:
    """From a create to the creates whose body refers to it (account -> contact by account_id)."""
    links = response.setdefault("links", {})
    for path, item in doc.get("paths", {}).items():
        create = item.get("post")
        if "{" in path or path.startswith("/_sim/") or not create or not create.get("operationId"):
            continue
        body = create.get("requestBody", {}).get("content", {}).get("application/json", {})
        if param in _ref_schema(doc, {"content": {"application/json": body}}).get("properties", {}):
            links[create["operationId"]] = {
                "operationId": create["operationId"],
                "requestBody": {param: "$response.body#/id"},
                "description": f"A new object that refers to this one by {param}.",
            }


def _link(response: dict[str, Any], members: list[tuple[str, str, str, str]], value: str,
          skip: str | None) -> None:  # fmt: skip
    links = response.setdefault("links", {})
    for _path, _method, op_id, param in members:
        if op_id == skip:
            continue
        links[op_id] = {
            "operationId": op_id,
            "parameters": {param: value},
            "description": f"The same object, through {op_id}.",
        }
