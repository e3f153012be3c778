"""Small helpers routes share: JSON responses with ETags, list pages, If-Match, query params."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import Header, Query
from pydantic import BaseModel, ConfigDict
from pydantic_core import to_json
from starlette.responses import Response

from simulators.kit.errors import SimError
from simulators.kit.state import Versions
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


_JSON_TYPE = (b"content-type", b"application/json")


class _JsonResponse(Response):
    """A JSON response with the headers Starlette's Response would give it, built directly.

    Starlette parses a header mapping for every response (lower-casing, encoding, looking
    for a Content-Length and a Content-Type); here the list is written out: the given
    headers, then Content-Length, then Content-Type, as Starlette orders them.
    """

    media_type = "application/json"

    def __init__(self, body: bytes, status: int, first: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = [*first, (b"content-length", b"%d" % len(body)), _JSON_TYPE]


def _bodied(status: int) -> bool:
    """Statuses whose responses carry a body and a Content-Length (Starlette's rule)."""
    return status >= 200 and status not in (204, 304)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if headers is None and _bodied(status):
        return _JsonResponse(to_json(body), status, [])
    return Response(
        to_json(body), status_code=status, media_type="application/json", headers=headers
    )


def object_response(obj: dict[str, Any], status: int = 200) -> Response:
    """An object with its version as a strong ETag, for If-Match on the next PATCH."""
    etag = f'"{obj["version"]}"'
    if _bodied(status):
        return _JsonResponse(to_json(obj), status, [(b"etag", etag.encode("latin-1"))])
    return Response(
        to_json(obj), status_code=status, media_type="application/json", headers={"ETag": etag}
    )


def page_response(page: Page) -> Response:
    return json_response({"data": page.data, "next_cursor": page.next_cursor})


def list_response(objects: list[dict[str, Any]]) -> Response:
    """A complete list in the page shape (``next_cursor`` null)."""
    return json_response({"data": objects, "next_cursor": None})


def _wanted(filters: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, getattr(v, "value", v)) for k, v in filters.items() if v is not None]


def _where(wanted: list[tuple[str, Any]]) -> Callable[[dict[str, Any]], bool] | None:
    if not wanted:
        return None
    return lambda obj: all(obj.get(k) == v for k, v in wanted)


def matching(**filters: Any) -> Callable[[dict[str, Any]], bool] | None:
    """A list filter keeping objects equal to every given value (None: not filtered).

    Enum members compare by value, as they are stored. None when nothing filters,
    so the page needs no per-object check at all.
    """
    return _where(_wanted(filters))


def filtered_page(
    collection: Collection, limit: int, cursor: str | None, **filters: Any
) -> Response:
    """A page of ``collection`` filtered on equality of the given fields.

    The filters are the cursor's scope: a cursor only continues the list it came from.
    """
    wanted = _wanted(filters)
    scope = repr(wanted) if wanted else ""
    return page_response(
        collection.page(limit, cursor, _where(wanted), scope, _narrowest(collection, wanted))
    )


def _narrowest(collection: Collection, wanted: list[tuple[str, Any]]) -> tuple[str, Any] | None:
    """The filter on an indexed field with the fewest objects: the page walks only those."""
    indexed = collection.spec.indexed
    best: tuple[str, Any] | None = None
    fewest = 0
    for name, value in wanted:
        if name in indexed:
            count = collection.count_by(name, value)
            if best is None or count < fewest:
                best, fewest = (name, value), count
    return best


# RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma list.
# etagc here is visible ASCII but DQUOTE: obs-text (bytes 0x80-0xFF) counts as malformed.
_ENTITY_TAG = re.compile(r'[ \t,]*(W/)?"([\x21\x23-\x7e]*)"[ \t]*(?:,|\Z)')
_MAX_VERSION_DIGITS = 18  # versions are ints; a longer tag is none of our ETags


def _malformed_if_match() -> SimError:
    return SimError(  # 400: the header is malformed, not a precondition that failed
        "invalid_if_match",
        'If-Match must be * or a comma-separated list of entity tags, such as "3"',
        [{"field": "If-Match", "message": "not entity-tag syntax (RFC 9110 section 8.8.3)"}],
    )


def expected_version(if_match: str | None) -> Versions | None:
    """The versions an If-Match header accepts; None when it sets no precondition.

    RFC 9110 section 13.1.1: ``*`` matches any current object (None), a list matches if
    any of its tags matches, and the comparison is strong, so a weak tag (``W/"3"``)
    never matches and an empty set is a 412 for every version. A header that is not
    entity-tag syntax is refused with 400 ``invalid_if_match`` rather than ignored.
    """
    if if_match is None:
        return None
    text = if_match.strip(" \t")
    if text == "*":
        return None
    versions: set[int] = set()
    position, end = 0, len(text)
    while position < end:
        match = _ENTITY_TAG.match(text, position)
        if match is None:
            raise _malformed_if_match()
        weak, tag = match.groups()
        if not weak and tag.isdigit() and len(tag) <= _MAX_VERSION_DIGITS:
            versions.add(int(tag))
        position = match.end()
        while position < end and text[position] in " \t,":
            position += 1
    if position == 0:
        raise _malformed_if_match()  # nothing but separators
    return frozenset(versions)


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
