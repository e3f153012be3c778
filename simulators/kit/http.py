"""Small helpers routes share: JSON responses with ETags, list pages, If-Match, query params."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Header, Query
from pydantic import BaseModel, ConfigDict
from pydantic_core import to_json
from starlette.responses import Response

from simulators.kit.errors import Invalid
from simulators.kit.store import Collection, Page

__all__ = [
    "CURSOR",
    "IF_MATCH",
    "LIMIT",
    "ListOf",
    "expected_version",
    "filtered_page",
    "json_response",
    "list_response",
    "matching",
    "object_response",
    "page_response",
]

# One Query() object must not serve two parameters of the same route: FastAPI then
# silently drops all but the first. LIMIT and CURSOR are one parameter each.
# If-Match is read by SimRoute and documented by the OpenAPI pass (kit/openapi.py).
IF_MATCH = Header(None, include_in_schema=False)
LIMIT = Query(100, ge=1, le=1000, description="Page size, 1 to 1000.")
CURSOR = Query(None, max_length=200, description="next_cursor of the previous page.")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        to_json(body), status_code=status, media_type="application/json", headers=headers
    )


def object_response(obj: dict[str, Any], status: int = 200) -> Response:
    """An object with its version as a strong ETag, for If-Match on the next PATCH."""
    return Response(
        to_json(obj),
        status_code=status,
        media_type="application/json",
        headers={"ETag": f'"{obj["version"]}"'},
    )


def page_response(page: Page) -> Response:
    return json_response({"data": page.data, "next_cursor": page.next_cursor})


def list_response(objects: list[dict[str, Any]]) -> Response:
    """A complete list in the page shape (``next_cursor`` null)."""
    return json_response({"data": objects, "next_cursor": None})


def matching(**filters: Any) -> Callable[[dict[str, Any]], bool] | None:
    """A list filter keeping objects equal to every given value (None: not filtered).

    Enum members compare by value, as they are stored. None when nothing filters,
    so the page needs no per-object check at all.
    """
    wanted = [(k, getattr(v, "value", v)) for k, v in filters.items() if v is not None]
    if not wanted:
        return None
    return lambda obj: all(obj.get(k) == v for k, v in wanted)


def filtered_page(
    collection: Collection, limit: int, cursor: str | None, **filters: Any
) -> Response:
    """A page of ``collection`` filtered on equality of the given fields."""
    return page_response(collection.page(limit, cursor, matching(**filters)))


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header asks for (``"3"`` or ``W/"3"``); ``*`` means any."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.split(",")[0].strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Invalid(
            "invalid_if_match",
            'If-Match must carry an ETag this simulator sent, such as "3"',
            [{"field": "If-Match", "message": "not an ETag of this simulator"}],
        )
    return int(tag)


def ListOf(model: type[BaseModel]) -> type[BaseModel]:
    """The OpenAPI schema of a list page of ``model``: ``{data: [...], next_cursor}``."""
    return type(
        f"{model.__name__}List",
        (BaseModel,),
        {
            "__annotations__": {"data": list[model], "next_cursor": str | None},  # type: ignore[valid-type]
            "model_config": ConfigDict(extra="forbid"),
        },
    )
