"""Compares two JSON Schemas of one request or response, in the direction they travel.

A client SENDS request schemas and READS response schemas, so the same edit flips
meaning with the direction: a new required field breaks a request, not a response;
a lower ``maxLength`` breaks a request, a higher one breaks a response (the client's
buffer, its validation). The rules are listed in the README ("Contracts: governance
and fuzzing"), next to oasdiff's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Direction", "Resolver", "SchemaDiff"]

Direction = Literal["request", "response"]
Emit = Callable[[bool, str, str, str], None]  # breaking, rule id, where, message

# keyword: (meaning of a larger value, rule stem). "upper" bounds break a request when
# they go down or appear; "lower" bounds break a request when they go up or appear.
_BOUNDS = {
    "maxLength": "upper",
    "maximum": "upper",
    "exclusiveMaximum": "upper",
    "maxItems": "upper",
    "maxProperties": "upper",
    "minLength": "lower",
    "minimum": "lower",
    "exclusiveMinimum": "lower",
    "minItems": "lower",
    "minProperties": "lower",
}


class Resolver:
    """Follows local ``$ref``s (``#/components/...``) inside one document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def deref(self, schema: Any) -> tuple[dict[str, Any], str | None]:
        """The schema with its ``$ref`` chain followed (siblings kept, 3.1 style) and its name."""
        name = None
        seen: set[str] = set()
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if ref in seen or not ref.startswith("#/"):
                break
            seen.add(ref)
            name = ref
            target: Any = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**(target if isinstance(target, dict) else {}), **siblings}
        return (schema if isinstance(schema, dict) else {}), name


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    types = set(kind) if isinstance(kind, list) else ({kind} if isinstance(kind, str) else set())
    if schema.get("nullable") is True:  # OpenAPI 3.0
        types.add("null")
    if "integer" in types and "number" in types:
        types.discard("integer")
    return types


def _values(schema: dict[str, Any]) -> list[Any] | None:
    """The allowed values (``enum``, or ``const`` as a one-value enum), None for any."""
    if isinstance(schema.get("enum"), list):
        return list(schema["enum"])
    return [schema["const"]] if "const" in schema else None


@dataclass
class SchemaDiff:
    """One comparison of an old and a new document; ``emit`` receives each change."""

    old: Resolver
    new: Resolver
    emit: Emit
    _stack: set[tuple[str | None, str | None, str]] = field(default_factory=set)

    def compare(self, old: Any, new: Any, direction: Direction, where: str) -> None:
        o, o_name = self.old.deref(old)
        n, n_name = self.new.deref(new)
        key = (o_name, n_name, direction)
        if o_name and n_name:
            if key in self._stack:  # a recursive schema: already being compared
                return
            self._stack.add(key)
        try:
            self._compare(self._flatten(o, self.old), self._flatten(n, self.new), direction, where)
        finally:
            self._stack.discard(key)

    def _flatten(self, schema: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
        """allOf merged into one schema; ``anyOf: [X, null]`` read as a nullable X."""
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            props = dict(merged.get("properties", {}))
            required = list(merged.get("required", []))
            for part in schema["allOf"]:
                sub = self._flatten(resolver.deref(part)[0], resolver)
                props.update(sub.get("properties", {}))
                required += [r for r in sub.get("required", []) if r not in required]
                merged.update({k: v for k, v in sub.items() if k not in ("properties", "required")})
            if props:
                merged["properties"] = props
            if required:
                merged["required"] = required
            schema = merged
        for key in ("anyOf", "oneOf"):
            variants = schema.get(key)
            if isinstance(variants, list):
                real = [v for v in variants if resolver.deref(v)[0].get("type") != "null"]
                if len(real) == 1 and len(variants) <= 2:  # X, or X | null
                    inner = self._flatten(resolver.deref(real[0])[0], resolver)
                    rest = {k: v for k, v in schema.items() if k != key}
                    merged = {**inner, **rest}
                    if len(variants) == 2 and _types(inner):
                        merged["type"] = sorted(_types(inner) | {"null"})
                    elif len(variants) == 2:
                        merged["nullable"] = True
                    return merged
        return schema

    def _compare(self, o: dict[str, Any], n: dict[str, Any], direction: Direction, at: str) -> None:
        req = direction == "request"
        self._types(o, n, req, at)
        self._enum(o, n, req, at)
        self._bounds(o, n, req, at)
        if o.get("pattern") != n.get("pattern"):
            if n.get("pattern") is None:
                self.emit(not req, f"{direction}-pattern-removed", at, "pattern removed")
            else:
                verb = "added" if o.get("pattern") is None else "changed"
                self.emit(req, f"{direction}-pattern-{verb}", at, f"pattern {verb}: {n['pattern']}")
        if o.get("format") != n.get("format") and (o.get("format") or n.get("format")):
            widened = n.get("format") is None  # no format: any string of the type
            self.emit(
                widened != req,
                f"{direction}-format-changed",
                at,
                f"format {o.get('format')} -> {n.get('format')}",
            )
        self._properties(o, n, direction, at)
        if isinstance(o.get("items"), dict) and isinstance(n.get("items"), dict):
            self.compare(o["items"], n["items"], direction, f"{at}[]")
        self._variants(o, n, direction, at)

    def _types(self, o: dict[str, Any], n: dict[str, Any], req: bool, at: str) -> None:
        ot, nt = _types(o), _types(n)
        if not ot or not nt or ot == nt:
            if ot and not nt and not req:
                self.emit(True, "response-type-widened", at, f"type {sorted(ot)} -> any")
            elif nt and not ot and req:
                self.emit(True, "request-type-narrowed", at, f"type any -> {sorted(nt)}")
            return
        gone, added = ot - nt, nt - ot
        if gone and req:
            self.emit(True, "request-type-narrowed", at, f"type {sorted(ot)} -> {sorted(nt)}")
        elif added and not req:
            what = "became nullable" if added == {"null"} else f"type {sorted(ot)} -> {sorted(nt)}"
            self.emit(True, "response-type-widened", at, what)
        else:
            rule = "request-type-widened" if req else "response-type-narrowed"
            self.emit(False, rule, at, f"type {sorted(ot)} -> {sorted(nt)}")

    def _enum(self, o: dict[str, Any], n: dict[str, Any], req: bool, at: str) -> None:
        oe, ne = _values(o), _values(n)
        side = "request" if req else "response"
        if oe is None or ne is None:
            if oe is not None:
                self.emit(not req, f"{side}-enum-removed", at, "no longer an enum: any value")
            elif ne is not None:
                self.emit(req, f"{side}-became-enum", at, f"now limited to {ne}")
            return
        gone = [v for v in oe if v not in ne]
        added = [v for v in ne if v not in oe]
        if gone:
            self.emit(req, f"{side}-enum-value-removed", at, f"enum value(s) removed: {gone}")
        if added:
            self.emit(not req, f"{side}-enum-value-added", at, f"enum value(s) added: {added}")

    def _bounds(self, o: dict[str, Any], n: dict[str, Any], req: bool, at: str) -> None:
        side = "request" if req else "response"
        for key, kind in _BOUNDS.items():
            ov, nv = o.get(key), n.get(key)
            if ov == nv or isinstance(ov, bool) or isinstance(nv, bool):
                continue
            if ov is None:
                tighter, change = True, f"{key} set to {nv}"
            elif nv is None:
                tighter, change = False, f"{key} {ov} removed"
            else:
                tighter = (nv < ov) if kind == "upper" else (nv > ov)
                change = f"{key} {ov} -> {nv}"
            verb = "tightened" if tighter else "widened"
            self.emit(tighter == req, f"{side}-{key}-{verb}", at, change)

    def _properties(
        self, o: dict[str, Any], n: dict[str, Any], direction: Direction, at: str
    ) -> None:
        op, np_ = o.get("properties") or {}, n.get("properties") or {}
        if not op and not np_:
            return
        oreq, nreq = set(o.get("required", [])), set(n.get("required", []))
        gone = [p for p in op if p not in np_]
        added = [p for p in np_ if p not in op]
        renames = self._renames(op, np_, gone, added) if direction == "response" else {}
        for name in gone:
            where = f"{at}.{name}"
            if name in renames:
                self.emit(True, "response-property-renamed", where, f"renamed to {renames[name]!r}")
            elif direction == "response":
                self.emit(True, "response-property-removed", where, "property removed")
            else:
                closed = n.get("additionalProperties") is False
                self.emit(
                    closed,
                    "request-property-removed",
                    where,
                    "property removed" + (" (extra properties refused)" if closed else ""),
                )
        for name in added:
            if name in renames.values():
                continue
            where = f"{at}.{name}"
            if direction == "request" and name in nreq:
                self.emit(True, "request-property-added-required", where, "new required property")
            else:
                self.emit(
                    False,
                    f"{direction}-property-added",
                    where,
                    "new optional property" if direction == "request" else "new property",
                )
        for name in op:
            if name not in np_:
                continue
            where = f"{at}.{name}"
            if name not in oreq and name in nreq:
                self.emit(
                    direction == "request",
                    f"{direction}-property-became-required",
                    where,
                    "optional -> required",
                )
            elif name in oreq and name not in nreq:
                self.emit(
                    direction == "response",
                    f"{direction}-property-became-optional",
                    where,
                    "required -> optional",
                )
            self.compare(op[name], np_[name], direction, where)

    def _renames(
        self, op: dict[str, Any], np_: dict[str, Any], gone: list[str], added: list[str]
    ) -> dict[str, str]:
        """A removed and an added property with the same schema: most likely a rename."""
        found: dict[str, str] = {}
        for g in gone:
            same = [
                a
                for a in added
                if a not in found.values() and self.old.deref(op[g])[0] == self.new.deref(np_[a])[0]
            ]
            if len(same) == 1:
                found[g] = same[0]
        return found

    def _variants(
        self, o: dict[str, Any], n: dict[str, Any], direction: Direction, at: str
    ) -> None:
        for key in ("anyOf", "oneOf"):
            ov, nv = o.get(key) or [], n.get(key) or []
            if not ov and not nv:
                continue
            onames = [self.old.deref(v)[1] or f"#{i}" for i, v in enumerate(ov)]
            nnames = [self.new.deref(v)[1] or f"#{i}" for i, v in enumerate(nv)]
            for i, name in enumerate(onames):
                if name in nnames:
                    self.compare(ov[i], nv[nnames.index(name)], direction, f"{at}<{key} {name}>")
                else:
                    self.emit(
                        direction == "request",
                        f"{direction}-{key}-variant-removed",
                        at,
                        f"{key} variant {name} removed",
                    )
            for name in nnames:
                if name not in onames:
                    self.emit(
                        direction == "response",
                        f"{direction}-{key}-variant-added",
                        at,
                        f"{key} variant {name} added",
                    )
