"""The control plane (``/_sim/...``), the same on every simulator.

Health, reset, seed, export, journal, clock and Pact provider states: what a test
harness needs to arrange a system and inspect it, never what the SUT should call.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from importlib import metadata
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from simulators.kit.clock import format_timestamp, parse_instant
from simulators.kit.errors import Invalid, problem_responses
from simulators.kit.http import json_response
from simulators.kit.scheduler import MoveReport
from simulators.kit.seeding import problem
from simulators.kit.state import SystemState
from simulators.kit.uow import transaction

__all__ = ["clock_view", "control_router", "package_version"]


def package_version() -> str:
    try:
        return metadata.version("golive")
    except metadata.PackageNotFoundError:
        return "0.0.0+local"


class Health(BaseModel):
    system: str
    status: str
    version: str
    clock: dict[str, Any]


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float | None = Field(None, ge=0, le=10 * 365 * 86400)
    to: str | None = Field(
        None, description="Instant to move to (ISO 8601): not in the past, before 3000-01-01."
    )


class ClockFreeze(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: str | None = Field(
        None,
        description="Instant to freeze at, default now: not in the past, before 3000-01-01.",
    )
    frozen: bool = Field(True, description="false lets a frozen clock run again.")


class ProviderState(BaseModel):
    """The body the Pact verifier posts to a state-change URL."""

    model_config = ConfigDict(extra="allow")

    state: str
    params: dict[str, Any] = Field(default_factory=dict)
    action: str = "setup"


_BAD_SEED = 'seed bodies are {"objects": {type: [...]}} or NDJSON lines {object_type, object}'
_Batch = dict[str, list[dict[str, Any]]]


def _too_deep(line: int | None = None) -> Invalid:
    # json raises RecursionError past the interpreter's depth; canonical objects nest a
    # handful of levels, so anything that deep is refused whole, before any check.
    where = f"line {line}: " if line is not None else ""
    errors = [problem(None, None, None, "(line)", "nested too deep", line)] if line else None
    return Invalid("seed_too_deep", f"{where}the seed nests deeper than JSON parsing allows",
                   errors)  # fmt: skip


def _parse_ndjson(raw: bytes) -> tuple[_Batch, dict[str, list[int]], list[dict[str, Any]]]:
    """Objects by type, their line numbers, and the lines that are not objects.

    Lines are counted as editors count them: from 1, split at newlines, blank ones
    included, so an error names the line a person finds in the file.
    """
    batch: _Batch = {}
    lines: dict[str, list[int]] = {}
    problems: list[dict[str, Any]] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except RecursionError:
            raise _too_deep(number) from None
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(problem(None, None, None, "(line)", f"not JSON: {exc}", number))
            continue
        object_type = item.get("object_type") if isinstance(item, dict) else None
        obj = item.get("object") if isinstance(item, dict) else None
        if not isinstance(object_type, str) or not isinstance(obj, dict):
            field = "object_type" if not isinstance(object_type, str) else "object"
            problems.append(problem(None, None, None, field, _BAD_SEED, number))
            continue
        batch.setdefault(object_type, []).append(obj)
        lines.setdefault(object_type, []).append(number)
    return batch, lines, problems


def _export_page(
    state: SystemState, object_type: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of one object type, in insertion order; the cursor is an opaque offset."""
    objects = state.export_type(object_type)
    if objects is None:
        known = ", ".join(state.export())
        raise Invalid("unknown_object_type", f"{object_type!r} is not one of {known}")
    start = 0
    if cursor is not None:
        if not cursor.isdigit() or int(cursor) > len(objects):
            raise Invalid("invalid_cursor", f"{cursor!r} is not a cursor this export gave")
        start = int(cursor)
    page = objects[start : start + limit]
    end = start + len(page)
    return page, (str(end) if end < len(objects) else None)


def _parse_json(raw: bytes) -> _Batch:
    try:
        body = json.loads(raw or b"{}")
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("invalid_json", f"the seed body is not valid JSON: {exc}") from None
    objects = body.get("objects") if isinstance(body, dict) else None
    if not isinstance(objects, dict) or not all(isinstance(v, list) for v in objects.values()):
        raise Invalid("invalid_seed", _BAD_SEED)
    return objects


def _instant(text: str) -> datetime:
    """An ISO 8601 instant from a clock request; ValueError worded for the caller."""
    try:
        moment = parse_instant(text)
        moment.timestamp()
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not an ISO 8601 instant") from None
    return moment


def clock_view(state: SystemState) -> dict[str, Any]:
    """``GET /_sim/clock``: the clock, what falls due next, and the activity an estate
    clock waits on before it calls a step settled (docs/control-plane.md)."""
    rt = state.rt
    delivery = rt.next_delivery_at()
    return {
        **rt.clock.state(),
        **state.scheduler.status(),
        "next_delivery_at": None if delivery is None else format_timestamp(delivery),
        "activity": {
            "in_flight": rt.in_flight,
            "idle_s": round(max(0.0, time.monotonic() - rt.last_request_at), 6),
            "pending_deliveries": rt.pending_deliveries(),
        },
    }


def control_router(state: SystemState) -> APIRouter:
    rt = state.rt
    router = APIRouter(prefix="/_sim", tags=["control plane"])

    @router.get("/health", response_model=Health)
    async def health() -> Response:
        return json_response(
            {"system": rt.system, "status": "ok", "version": package_version(),
             "clock": rt.clock.state()}
        )  # fmt: skip

    def reset_all() -> None:
        state.reset()
        rt.reset()
        state.on_start()

    @router.post("/reset", status_code=200)
    async def reset() -> Response:
        reset_all()
        return json_response({"system": rt.system, "reset": True})

    @router.post(
        "/seed",
        responses=problem_responses(409, 422),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def seed(request: Request) -> Response:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        if "ndjson" in content_type or "jsonl" in content_type:
            batch, lines, problems = _parse_ndjson(raw)
            return json_response({"loaded": state.seed(batch, lines=lines, problems=problems)})
        return json_response({"loaded": state.seed(_parse_json(raw))})

    @router.get("/export", responses=problem_responses(422))
    async def export(
        object_type: str | None = Query(None, alias="type", description="Page one type."),
        limit: int = Query(1000, ge=1, le=100_000),
        cursor: str | None = Query(None, description="next_cursor of the previous page."),
    ) -> Response:
        body: dict[str, Any] = {"system": rt.system, "exported_at": rt.clock.now_iso()}
        if object_type is None:
            if cursor is not None:
                raise Invalid("invalid_export_page", "cursor pages one type: give type= too")
            return json_response({**body, "objects": state.export(), "events": len(rt.events)})
        page, next_cursor = _export_page(state, object_type, limit, cursor)
        return json_response({**body, "objects": {object_type: page},
                              "events": len(rt.events), "next_cursor": next_cursor})  # fmt: skip

    @router.get("/journal", responses=problem_responses(422))
    async def journal(
        limit: int = Query(1000, ge=1, le=100_000),
        correlation_id: str | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> Response:
        entries = rt.journal.entries()
        if correlation_id is not None:
            entries = [e for e in entries if e["correlation_id"] == correlation_id]
        if path is not None:
            entries = [e for e in entries if e["path"].startswith(path)]
        if method is not None:
            entries = [e for e in entries if e["method"] == method.upper()]
        return json_response({"data": entries[-limit:], "total": len(entries)})

    def move(target: float) -> MoveReport:
        """Run the jobs due up to ``target``, each at its due time, then move there.

        Instants are shown to the microsecond: a job due within half of one after
        ``target`` is due at ``target`` as shown (and runs at its own instant).
        """
        report = state.scheduler.run_due(target + 0.5e-6)
        rt.clock.advance(max(0.0, target - rt.clock.timestamp()))
        return report

    @router.get("/clock")
    async def clock() -> Response:
        return json_response(clock_view(state))

    @router.post("/clock/advance", responses=problem_responses(422))
    async def clock_advance(body: ClockAdvance) -> Response:
        if (body.seconds is None) == (body.to is None):
            raise Invalid("invalid_clock_move", "give exactly one of seconds or to")
        try:
            now = rt.clock.timestamp()
            if body.to is not None:
                target = _instant(body.to).timestamp()
            else:
                target = now + (body.seconds or 0.0)
            rt.clock.check_target(target, now)
        except ValueError as exc:
            raise Invalid("invalid_clock_move", str(exc)) from None
        report = move(target)
        state.on_clock_moved()
        return json_response({**clock_view(state), "ran": report.as_dict()})

    @router.post("/clock/freeze", responses=problem_responses(422))
    async def clock_freeze(body: ClockFreeze) -> Response:
        report = MoveReport()
        if not body.frozen:
            if body.at is not None:
                raise Invalid("invalid_clock_move", "at is for freezing; leave it out to resume")
            rt.clock.unfreeze()
        else:
            try:
                target = 0.0  # now, whatever now is when the clock stops
                if body.at is not None:
                    target = _instant(body.at).timestamp()
                    rt.clock.check_target(target)
            except ValueError as exc:
                raise Invalid("invalid_clock_move", str(exc)) from None
            # A freeze at a later instant is a freeze now, then an advance to it; the
            # freeze commits first, as the jobs of the advance commit each on their own.
            with transaction(rt, join=False):
                rt.clock.freeze()
            report = move(max(target, rt.clock.timestamp()))
        state.on_clock_moved()
        return json_response({**clock_view(state), "ran": report.as_dict()})

    @router.post("/provider-states", responses=problem_responses(404, 422))
    async def provider_states(body: ProviderState) -> Response:
        if body.action == "teardown":
            # Each interaction is verified on an empty simulator (docs/provider-states.md).
            reset_all()
            return json_response({})
        if not body.state:  # the verifier's set-up of an interaction without a state
            return json_response({})
        return json_response(state.setup_provider_state(body.state, body.params))

    @router.get("/provider-states")
    async def list_provider_states() -> Response:
        return json_response({"data": sorted(state.PROVIDER_STATES)})

    return router
