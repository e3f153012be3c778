"""Column types of the generated files, as Frictionless Table Schemas in the manifest.

CSV carries no types: a reader guesses, and digit-only strings (phones, card numbers,
GL accounts) come back as integers, nullable money as floats. The schema says what
each column is, so pandas, the csv module or a Frictionless tool read it exactly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from lifecycle.entities._base import Date, Timestamp

__all__ = ["table_schema"]

Obj = dict[str, Any]
_JSON_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean",
               "number": "number", "array": "array", "object": "object"}  # fmt: skip


def _pattern(annotated: Any) -> str:
    return str(TypeAdapter(annotated).json_schema()["pattern"])


_PATTERN_TYPES = {_pattern(Date): "date", _pattern(Timestamp): "datetime"}


def _field(name: str, prop: Obj, defs: Obj) -> Obj:
    nullable = False
    options = prop.get("anyOf")
    if options:
        nullable = any(o.get("type") == "null" for o in options)
        prop = next(o for o in options if o.get("type") != "null")
    if "$ref" in prop:
        prop = defs[prop["$ref"].rsplit("/", 1)[-1]]
    kind = _PATTERN_TYPES.get(prop.get("pattern", ""), _JSON_TYPES[prop.get("type", "object")])
    field: Obj = {"name": name, "type": kind, "constraints": {"required": not nullable}}
    if "enum" in prop:
        field["constraints"]["enum"] = list(prop["enum"])
    if kind == "string" and not nullable:
        field["missingValues"] = []  # an empty cell is the empty string, never null
    return field


def table_schema(model: type[BaseModel]) -> Obj:
    """A Table Schema for ``model``'s columns, in model order (the CSV header's order).

    An empty cell is null (``missingValues``), except in a string column that is never
    null, where it is the empty string. Arrays and objects are JSON text in their cell;
    booleans are ``true``/``false``; dates and instants are ISO 8601 (instants in UTC).
    """
    spec = model.model_json_schema()
    defs = spec.get("$defs", {})
    fields = [_field(name, prop, defs) for name, prop in spec["properties"].items()]
    return {"fields": fields, "missingValues": [""], "primaryKey": ["id"]}
