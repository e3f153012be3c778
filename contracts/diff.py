"""Breaking and non-breaking changes between two OpenAPI documents (``golive contracts diff``).

A consumer pins a reviewed spec; this says whether a new one would break it. Rules
and how they compare with oasdiff's are in the README, "Contracts: governance and
fuzzing".
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contracts._schema_diff import Direction, Resolver, SchemaDiff

__all__ = ["Change", "DiffReport", "SpecError", "diff_specs", "load_spec"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM = re.compile(r"\{[^}/]+\}")


class SpecError(ValueError):
    """The input is not a readable OpenAPI 3 document (one line, fit for the CLI)."""


@dataclass(frozen=True)
class Change:
    """One difference: ``breaking`` for a client written against the old document."""

    breaking: bool
    rule: str
    operation: str
    where: str
    message: str


@dataclass
class DiffReport:
    old: str
    new: str
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def non_breaking(self) -> list[Change]:
        return [c for c in self.changes if not c.breaking]

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "breaking": len(self.breaking),
            "non_breaking": len(self.non_breaking),
            "changes": [asdict(c) for c in self.changes],
        }


def load_spec(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML OpenAPI 3 document, or raise ``SpecError`` with one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" (line {mark.line + 1})" if mark is not None else ""
            raise SpecError(f"{path}: neither JSON nor YAML{line}") from None
    return check_spec(doc, str(path))


def check_spec(doc: Any, name: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        raise SpecError(f"{name}: not an OpenAPI 3 document (no 'openapi: 3.x' field)")
    if not isinstance(doc.get("paths", {}), dict):
        raise SpecError(f"{name}: 'paths' is not a mapping")
    return doc


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(METHOD, path with anonymous parameters) -> (path as written, operation)."""
    ops = {}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters", [])
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                merged = {**op, "parameters": [*shared, *op.get("parameters", [])]}
                ops[(method.upper(), _PARAM.sub("{}", path))] = (path, merged)
    return ops


class _Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any], report: DiffReport) -> None:
        self.old, self.new = Resolver(old), Resolver(new)
        self.report = report
        self.op = ""
        self.schemas = SchemaDiff(self.old, self.new, self._emit)

    def _emit(self, breaking: bool, rule: str, where: str, message: str) -> None:
        self.report.changes.append(Change(breaking, rule, self.op, where, message))

    def run(self) -> None:
        old_ops, new_ops = _operations(self.old.doc), _operations(self.new.doc)
        for key, (path, op) in old_ops.items():
            self.op = f"{key[0]} {path}"
            if key not in new_ops:
                self._emit(True, "operation-removed", "", "operation removed")
                continue
            self._operation(op, new_ops[key][1])
        for key, (path, _op) in new_ops.items():
            if key not in old_ops:
                self.op = f"{key[0]} {path}"
                self._emit(False, "operation-added", "", "operation added")

    def _operation(self, o: dict[str, Any], n: dict[str, Any]) -> None:
        if n.get("deprecated") and not o.get("deprecated"):
            self._emit(False, "operation-deprecated", "", "operation deprecated")
        osec = {frozenset(r) for r in o.get("security", self.old.doc.get("security", []))}
        nsec = {frozenset(r) for r in n.get("security", self.new.doc.get("security", []))}
        if nsec and frozenset() not in nsec and not osec & nsec:
            self._emit(True, "security-added", "security", "a credential no client sent is needed")
        elif osec and not nsec:
            self._emit(False, "security-removed", "security", "no longer needs credentials")
        self._parameters(o["parameters"], n["parameters"])
        self._request_body(o.get("requestBody"), n.get("requestBody"))
        self._responses(o.get("responses") or {}, n.get("responses") or {})

    def _param_map(self, params: list[Any], resolver: Resolver) -> dict[tuple[str, str], Any]:
        out: dict[tuple[str, str], Any] = {}
        position = 0
        for raw in params:
            p = resolver.deref(raw)[0]
            where, name = p.get("in", ""), str(p.get("name", ""))
            if where == "path":  # path parameters match by place: {id} may become {account_id}
                name, position = f"#{position}", position + 1
            elif where == "header":
                name = name.lower()
            out[(where, name)] = p
        return out

    def _parameters(self, old: list[Any], new: list[Any]) -> None:
        op_, np_ = self._param_map(old, self.old), self._param_map(new, self.new)
        for key, p in np_.items():
            where = f"{key[0]} parameter {p.get('name')}"
            if key not in op_:
                required = bool(p.get("required")) or key[0] == "path"
                self._emit(
                    required,
                    "request-parameter-added" + ("-required" if required else ""),
                    where,
                    "new required parameter" if required else "new optional parameter",
                )
                continue
            was = op_[key]
            if p.get("required") and not was.get("required"):
                self._emit(True, "request-parameter-became-required", where, "optional -> required")
            elif was.get("required") and not p.get("required"):
                self._emit(
                    False, "request-parameter-became-optional", where, "required -> optional"
                )
            self.schemas.compare(was.get("schema", {}), p.get("schema", {}), "request", where)
        for key, p in op_.items():
            if key not in np_:
                self._emit(
                    False,
                    "request-parameter-removed",
                    f"{key[0]} parameter {p.get('name')}",
                    "parameter removed (clients that send it are ignored)",
                )

    def _content(self, o: dict[str, Any], n: dict[str, Any], direction: Direction, at: str) -> None:
        oc, nc = o.get("content") or {}, n.get("content") or {}
        for media, body in oc.items():
            if media not in nc:
                self._emit(True, f"{direction}-media-type-removed", at, f"{media} removed")
                continue
            self.schemas.compare(
                body.get("schema", {}), nc[media].get("schema", {}), direction, f"{at} {media}"
            )
        for media in nc:
            if media not in oc:
                self._emit(False, f"{direction}-media-type-added", at, f"{media} added")

    def _request_body(self, old: Any, new: Any) -> None:
        o, n = self.old.deref(old)[0] if old else None, self.new.deref(new)[0] if new else None
        if o is None and n is None:
            return
        if o is None:
            assert n is not None
            required = bool(n.get("required"))
            self._emit(
                required,
                "request-body-added",
                "body",
                "new required body" if required else "new optional body",
            )
            return
        if n is None:
            self._emit(True, "request-body-removed", "body", "body removed")
            return
        if n.get("required") and not o.get("required"):
            self._emit(True, "request-body-became-required", "body", "optional -> required")
        self._content(o, n, "request", "body")

    def _responses(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        for status, raw in old.items():
            if status not in new:
                self._emit(
                    True, "response-status-removed", f"response {status}", "response removed"
                )
                continue
            o, n = self.old.deref(raw)[0], self.new.deref(new[status])[0]
            at = f"response {status}"
            self._content(o, n, "response", at)
            oh = {k.lower(): v for k, v in (o.get("headers") or {}).items()}
            nh = {k.lower(): v for k, v in (n.get("headers") or {}).items()}
            for name in oh:
                if name not in nh:
                    self._emit(
                        True, "response-header-removed", f"{at} header {name}", "header removed"
                    )
                else:
                    h_old, h_new = self.old.deref(oh[name])[0], self.new.deref(nh[name])[0]
                    self.schemas.compare(
                        h_old.get("schema", {}),
                        h_new.get("schema", {}),
                        "response",
                        f"{at} header {name}",
                    )
            for name in nh:
                if name not in oh:
                    self._emit(
                        False, "response-header-added", f"{at} header {name}", "header added"
                    )
        for status in new:
            if status not in old:
                self._emit(False, "response-status-added", f"response {status}", "response added")


def diff_specs(
    old: dict[str, Any], new: dict[str, Any], old_name: str = "old", new_name: str = "new"
) -> DiffReport:
    """Every change from ``old`` to ``new``, breaking ones flagged."""
    report = DiffReport(old_name, new_name)
    differ = _Differ(check_spec(old, old_name), check_spec(new, new_name), report)
    try:
        differ.run()
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        # A document that is OpenAPI in name only (a list where a mapping belongs ...).
        where = f" at {differ.op}" if differ.op else ""
        raise SpecError(
            f"{old_name} or {new_name}: malformed OpenAPI{where} ({type(exc).__name__}: {exc})"
        ) from None
    return report
