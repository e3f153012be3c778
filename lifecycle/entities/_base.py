"""Fields and types every canonical entity shares."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "CurrencyCode",
    "Date",
    "Entity",
    "MinorUnits",
    "Timestamp",
]


def _real_date(value: str) -> str:
    date.fromisoformat(value)  # a pattern alone lets 2026-13-45 through
    return value


def _real_instant(value: str) -> str:
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$",
        description="UTC instant, ISO 8601 with a Z suffix.",
        examples=["2026-11-23T09:30:00.000000Z"],
    ),
    AfterValidator(_real_instant),
]
Date = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="Calendar date, ISO 8601."),
    AfterValidator(_real_date),
]
CurrencyCode = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.", examples=["USD"])
]
MinorUnits = Annotated[int, Field(description="Amount in the currency's minor unit (cents).")]


class Entity(BaseModel):
    """What every stored object carries: id, the caller's external id, version and trail."""

    model_config = ConfigDict(extra="forbid")

    id: str
    external_id: str | None = None
    version: int = Field(1, ge=1, description="Bumped on every change; sent as the ETag.")
    created_at: Timestamp
    updated_at: Timestamp
    correlation_id: str | None = Field(
        None, description="X-Correlation-Id of the request that created the object."
    )
