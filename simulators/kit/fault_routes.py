"""``/_sim/faults``: add, list and remove the fault rules of one simulator.

The rule model and its validation come from the shared vocabulary
(``lifecycle/faults.py``); the engine that applies them is ``kit/faults.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from lifecycle.faults import FaultSpec
from simulators.kit.errors import Conflict, Invalid, NotFound, problem_responses
from simulators.kit.http import json_response
from simulators.kit.state import SystemState

__all__ = ["fault_router"]


class FaultRuleOut(BaseModel):
    """A rule as the simulator holds it: the rule as posted, plus id and counters."""

    id: str
    kind: str
    match: dict[str, str]
    probability: float
    params: dict[str, Any]
    window: dict[str, str | None]
    count: int | None
    seed: int
    fired: int
    active: bool
    created_at: str


class FaultRuleList(BaseModel):
    data: list[FaultRuleOut]


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """The rule's JSON schema with its ``$defs`` written in place (an OpenAPI document
    resolves ``#/$defs/...`` from its own root, where they are not)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, defs) for item in schema]
    return schema


_SCHEMA = FaultSpec.model_json_schema()
_RULE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(_SCHEMA, _SCHEMA.get("$defs", {}))}},
    }
}


def _problem(loc: tuple[int | str, ...], message: str) -> dict[str, str]:
    """A validation error as ``{field, message}``; model checks name their field first."""
    field = ".".join(str(part) for part in loc)
    message = message.removeprefix("Value error, ")
    head, sep, rest = message.partition(": ")
    if sep and head and " " not in head:
        return {"field": f"{field}.{head}" if field else head, "message": rest}
    return {"field": field or "(body)", "message": message}


def _parse(raw: bytes) -> FaultSpec:
    try:
        return FaultSpec.model_validate_json(raw or b"null")
    except ValidationError as exc:
        errors = [_problem(err["loc"], err["msg"]) for err in exc.errors(include_url=False)]
        first = errors[0]
        raise Invalid(
            "invalid_fault_rule", f"{first['field']}: {first['message']}", errors
        ) from None


def fault_router(state: SystemState) -> APIRouter:
    rt = state.rt
    book = rt.faults
    router = APIRouter(prefix="/_sim", tags=["control plane"])

    @router.get("/faults", response_model=FaultRuleList, summary="The fault rules, in order")
    async def list_faults() -> Response:
        return json_response({"data": book.listing()})

    @router.post(
        "/faults",
        status_code=201,
        response_model=FaultRuleOut,
        responses=problem_responses(409, 422),
        openapi_extra=_RULE_BODY,
        summary="Add a fault rule (docs/faults.md)",
    )
    async def add_fault(request: Request) -> Response:
        spec = _parse(await request.body())
        if not book.enabled:
            raise Conflict(
                "fault_engine_off",
                "this simulator runs without its fault engine (GOLIVE_FAULT_ENGINE=0): "
                "a rule would never fire",
            )
        try:
            rule = book.add(spec)
        except ValueError as exc:
            raise Conflict("too_many_fault_rules", str(exc)) from None
        return json_response(rule.as_json(rt.clock.timestamp()), status=201)

    @router.delete("/faults", summary="Remove every fault rule")
    async def clear_faults() -> Response:
        removed = len(book.rules)
        book.clear()
        return json_response({"removed": removed})

    @router.delete(
        "/faults/{rule_id}", responses=problem_responses(404), summary="Remove one fault rule"
    )
    async def remove_fault(rule_id: str = Path(..., max_length=64)) -> Response:
        if not book.remove(rule_id):
            raise NotFound("fault_not_found", f"no fault rule {rule_id!r} on {rt.system}")
        return json_response({"removed": 1})

    return router
