"""``/_sim/limits``: read and change a simulator's throttling while it runs.

``GET`` shows the limits and what they have counted, ``PUT`` sets them (a field left
out or null is no limit of that kind; ``{"profile": "vendor"}`` takes the vendor
class's defaults), ``DELETE`` turns throttling off. ``POST /_sim/reset`` goes back
to the limits the simulator started with (docs/limits.md, throttling).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from lifecycle.limits import MAX_RATE_PER_S, MIN_RATE_PER_S, VENDOR_LIMITS, LimitSettings
from simulators.kit.errors import Invalid, problem_responses
from simulators.kit.http import json_response
from simulators.kit.state import SystemState

__all__ = ["LimitsBody", "limits_router"]


class LimitsBody(BaseModel):
    """New limits; a field left out is no limit of that kind."""

    model_config = ConfigDict(extra="forbid")

    profile: Literal["vendor", "off"] | None = Field(
        None, description="vendor: the vendor class's limits (the other fields then adjust them)."
    )
    rate_per_s: Annotated[float, Field(ge=MIN_RATE_PER_S, le=MAX_RATE_PER_S)] | None = Field(
        None, description="Requests per second per client (token bucket refill)."
    )
    burst: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        None, description="Tokens in each client's bucket (default: one second's worth)."
    )
    concurrency: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        None, description="Requests of the whole account in flight at once."
    )
    daily_quota: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = Field(
        None, description="Requests of the whole account per rolling 24 hours."
    )


def settings_from(body: LimitsBody, system: str) -> LimitSettings:
    """The settings a body asks for; 422 ``invalid_limits`` when they do not fit together."""
    chosen = body.model_dump(exclude={"profile"}, exclude_unset=True)
    if body.profile == "off" and any(v is not None for v in chosen.values()):
        raise Invalid("invalid_limits", "profile off takes no other field")
    base = VENDOR_LIMITS[system].as_dict() if body.profile == "vendor" else {}  # type: ignore[index]
    try:
        return LimitSettings(**{**base, **chosen})
    except ValueError as exc:
        raise Invalid("invalid_limits", str(exc)) from None


def limits_router(state: SystemState) -> APIRouter:
    rt = state.rt
    router = APIRouter(prefix="/_sim", tags=["control plane"])

    def answer() -> Response:
        limiter = rt.limits
        return json_response(
            {"system": rt.system, "limits": limiter.settings.as_dict(), "usage": limiter.usage()}
        )

    @router.get("/limits")
    async def get_limits() -> Response:
        return answer()

    @router.put("/limits", responses=problem_responses(422))
    async def put_limits(body: LimitsBody) -> Response:
        rt.limits.configure(settings_from(body, rt.system))
        return answer()

    @router.delete("/limits")
    async def delete_limits() -> Response:
        rt.limits.configure(LimitSettings())
        return answer()

    return router
