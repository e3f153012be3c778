"""Query parameters and ids, bounded the same way in every simulator.

Every list filter is a ``filter_param``: a string of bounded length (ids also match
the id pattern), so no query string reaches a rule unbounded (``docs/limits.md``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import Field

__all__ = [
    "ID_PATTERN",
    "MAX_FILTER_LENGTH",
    "MAX_ID_LENGTH",
    "Filter",
    "Id",
    "IdFilter",
    "filter_param",
]

MAX_ID_LENGTH = 100
MAX_FILTER_LENGTH = 255
# Server ids are <prefix>_<hex>; ids a pact or a seed names may carry letters, digits
# and _ . : - (quote lines are <quote id>-<n>, periods per_YYYY_MM).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"

Id = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN, description="An object id."),
]
"""An object id in a request body or a provider state's params."""


def filter_param(
    description: str, *, max_length: int = MAX_FILTER_LENGTH, pattern: str | None = None
) -> Any:
    """A list filter: ``?name=value`` kept to equality, bounded in length (and pattern)."""
    return Query(max_length=max_length, pattern=pattern, description=description)


Filter = Annotated[str | None, filter_param("Only objects with this value.")]
"""A string filter on a list (external ids, names, skus ...)."""
IdFilter = Annotated[
    str | None,
    filter_param(
        "Only objects referring to this id.", max_length=MAX_ID_LENGTH, pattern=ID_PATTERN
    ),
]
"""A filter on an id field of a list (``?account_id=``)."""
