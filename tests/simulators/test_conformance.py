"""Schemathesis against each simulator's own OpenAPI document, in-process and bounded.

Finds any 5xx, and any status, header, content type or body the document does not
declare.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from simulators.registry import SYSTEMS, create_app

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


def _conformance_test(system: str):
    app = create_app(system)
    token = app.state.sim.rt.tokens.issue(
        "client_credentials", "golive", "golive-secret", time.time()
    )["access_token"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.update(headers={"Authorization": f"Bearer {token}"})

    @pytest.mark.slow
    @schema.parametrize()
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def test(case):
        case.call_and_validate(checks=CHECKS)

    test.__name__ = f"test_{system}_conforms_to_its_own_openapi"
    return test


for _system in SYSTEMS:
    globals()[f"test_{_system}_conforms_to_its_own_openapi"] = _conformance_test(_system)
