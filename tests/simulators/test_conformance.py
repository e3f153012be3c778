"""Schemathesis against each simulator's own OpenAPI document, in-process and bounded.

Finds any 5xx, and any status, header, content type or body the document does not
declare. Each app is built when its first test runs, not at collection, so
``pytest -k`` on anything else does not pay for five apps.
"""

from __future__ import annotations

import functools
import json
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python._constants.orchestrator import make_constants_value_source
from schemathesis.specs.openapi import checks as openapi_checks

from contracts.specs import committed_spec
from simulators.registry import SYSTEMS, create_app

METHODS = ("get", "post", "put", "patch", "delete")

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
# ignored_auth is left out: the valid token set in the config would stand in for the
# invalid credentials it generates. test_common.py checks auth on every operation.
MAX_EXAMPLES = 20


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value) -> bytes:
    # /_sim/seed takes NDJSON text; the document types it as a string.
    return value.encode() if isinstance(value, str) else str(value).encode()


def _operations():
    # The committed documents name the operations (cheap JSON); a test that drifts from
    # the code fails in tests/contracts, and the app itself is built only when run.
    for system in SYSTEMS:
        for path, item in json.loads(committed_spec(system) or "{}").get("paths", {}).items():
            for method in item:
                if method in METHODS:
                    yield pytest.param(system, path, method.upper(), id=f"{system} {method} {path}")


_APPS: dict[str, object] = {}


@functools.cache
def _schema(system):
    app = _APPS[system] = create_app(system)
    token = app.state.sim.rt.tokens.issue(
        "client_credentials", "golive", "golive-secret", time.time()
    )["access_token"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.update(headers={"Authorization": f"Bearer {token}"})
    return schema


@pytest.mark.slow
@pytest.mark.parametrize(("system", "path", "method"), list(_operations()))
def test_operation_conforms_to_its_own_openapi(system, path, method):
    schema = _schema(system)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case):
        try:
            case.call_and_validate(checks=CHECKS)
        finally:
            # A generated rule (POST /_sim/faults) must not break the operations after it.
            _APPS[system].state.sim.rt.faults.clear()

    # The builder behind Schemathesis' own pytest parametrize: the same phases (examples,
    # coverage, fuzzing) for an operation whose app exists only once its test runs.
    build_operation_test(
        config=schema.config,
        operation=schema[path][method],
        test_func=conforms,
        given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(schema)),
    )()
