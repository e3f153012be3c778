"""Completes the generated OpenAPI 3.1 document with what the middleware adds.

FastAPI sees the routes; the middleware adds auth, idempotency, correlation and
ETags. This pass writes those into every operation, so the document lists every
status an operation can return (Schemathesis holds us to it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from simulators.kit.envelope import MAX_CORRELATION_ID_LENGTH
from simulators.kit.errors import Problem, problem_responses
from simulators.kit.idempotency import MAX_KEY_LENGTH
from simulators.kit.links import add_links
from simulators.kit.middleware import PUBLIC_PREFIXES

__all__ = ["complete_openapi"]

_CORRELATION = {
    "name": "X-Correlation-Id",
    "in": "header",
    "required": False,
    "description": (
        "Echoed back, stored on created objects and put on the events that follow. "
        "Visible ASCII only; anything else gets 400 invalid_header."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_CORRELATION_ID_LENGTH,
        "pattern": "^[!-~]+$",
    },
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Run this request at most once per key (Stripe's semantics); keys live 24 h. "
        "Visible ASCII only; anything else gets 422 invalid_idempotency_key."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]+$",
    },
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": (
        "* or a comma-separated list of ETags this change is based on (RFC 9110): "
        "compared strongly, so a weak or stale tag gets 412; a malformed header gets 400."
    ),
    "schema": {
        "type": "string",
        "pattern": r'^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$',
    },
}
_HEADER_DOCS = {
    "X-Correlation-Id": {"schema": {"type": "string"}, "description": "The request's id."},
}


def _add_responses(op: dict[str, Any], statuses: tuple[int, ...]) -> None:
    responses = op.setdefault("responses", {})
    for status, spec in problem_responses(*statuses).items():
        responses.setdefault(str(status), spec)


def complete_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version="3.1.0",
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schemas["Problem"].pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer"},
        "clientBasic": {"type": "http", "scheme": "basic"},  # only for /oauth/token
        "oauth2": {
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
        },
    }
    for path, item in doc.get("paths", {}).items():
        public = path.startswith(PUBLIC_PREFIXES)
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = op.setdefault("responses", {})
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                del responses["422"]
            params = op.setdefault("parameters", [])
            has_input = bool(params) or "requestBody" in op
            if public:
                if has_input:
                    _add_responses(op, (422,))
                if "requestBody" in op:
                    _add_responses(op, (400, 413))
                if path.startswith("/_sim/") and method != "get":
                    # Writes from a foreign Origin (403) and bodies that are not JSON (415).
                    _add_responses(op, (403, 415) if "requestBody" in op else (403,))
                continue
            op["security"] = [{"bearerAuth": []}, {"oauth2": []}]
            params.append(_CORRELATION)
            # 403: the rolling daily quota is spent (request_limit_exceeded, docs/limits.md).
            statuses: tuple[int, ...] = (400, 401, 403, 429, 503)
            if method in {"post", "put", "patch", "delete"}:
                params.append(_IDEMPOTENCY)
                statuses += (409, 422)
            if method == "patch":
                params.append(_IF_MATCH)
                statuses += (412,)
            if has_input:
                statuses += (422,)
            if "requestBody" in op:
                statuses += (413, 415)  # too large; not JSON
            _add_responses(op, statuses)
            for status, response in responses.items():
                if status.startswith("2"):
                    response.setdefault("headers", {}).update(_HEADER_DOCS)
    add_links(doc)
    app.openapi_schema = doc
    return doc
