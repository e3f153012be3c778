"""Errors in one shape everywhere: RFC 9457 problem+json with a stable ``code``.

State code raises the domain errors below (no HTTP in ``state.py``); the app maps
their kind to a status in one table. Bad input never becomes a 500.
"""

from __future__ import annotations

import contextlib
import logging
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Conflict",
    "FieldProblem",
    "Gone",
    "Invalid",
    "LastResort",
    "NotFound",
    "PreconditionFailed",
    "Problem",
    "SimError",
    "Unauthorized",
    "problem_response",
    "problem_responses",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger(__name__)

_TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class FieldProblem(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str = Field(description="Dotted path of the offending field.")
    message: str


class Problem(BaseModel):
    """The error body of every simulator (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the problem type.")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine code, e.g. invalid_transition.")
    errors: list[FieldProblem] | None = None


class SimError(Exception):
    """A refused request. Subclasses fix the status; ``code`` is the stable machine code.

    A refusal undoes whatever the request wrote before it (``kit/uow.py``), unless it
    ``commits``: then it reports an outcome that is itself a change, kept with the
    refusal (Stripe stores a declined charge, then answers 402).
    """

    status = 400

    def __init__(
        self,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        *,
        commits: bool = False,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.commits = commits


class NotFound(SimError):
    status = 404


class Conflict(SimError):
    """The request conflicts with the object's current state (409)."""

    status = 409


class Invalid(SimError):
    """The request is well-formed but breaks a business rule (422)."""

    status = 422


class Gone(SimError):
    """What the request names existed once and is no longer kept (410)."""

    status = 410


class PreconditionFailed(SimError):
    status = 412


class Unauthorized(SimError):
    status = 401


def _title(status: int) -> str:
    title = _TITLES.get(status)
    if title is None:
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
    return title


def problem_response(
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://golive.dev/problems/{code.replace('_', '-')}",
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return Response(
        to_json(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the listed statuses, all problem+json."""
    return {
        status: {
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


class LastResort:
    """The outermost layer: any exception that escaped becomes a logged problem+json 500.

    Starlette's own net answers in plain text and re-raises, so uvicorn logs the error
    again and in-process clients see a Python exception where a socket sees a 500. Here
    the client gets ``internal_error`` in the one error shape, on the wire and in
    process, and the traceback goes to this module's logger once. When the response
    had already started, only the log is left to do.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # No wrapper around send to track whether the response started: that would cost
        # every request. A server refuses a second response start (ASGI), which is how
        # the rare failure after the response started shows here.
        try:
            await self.app(scope, receive, send)
        except Exception:
            if scope["type"] != "http":
                raise
            log.exception("unexpected error in %s %s", scope["method"], scope["path"][:200])
            response = problem_response(
                500, "internal_error", "the simulator failed unexpectedly; see its log"
            )
            with contextlib.suppress(Exception):  # the response had started: logged above
                await response(scope, receive, send)
