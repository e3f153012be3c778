"""What every simulator's request bodies share: strict, bounded fields and no unknown ones.

Bounds on every field are what keep fuzzed input a 422 instead of a 500. Numbers and
flags are strict (``"100"``, ``true`` or ``1e3`` for an integer is a 422, never
coerced), and money, quantities, basis points and dates have the same bounds in all
five systems (``docs/limits.md``). A PATCH body refuses an explicit ``null`` on a
field its canonical entity (``lifecycle.entities``) cannot hold as null.
"""

from __future__ import annotations

import types
from datetime import date
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from lifecycle.money import CURRENCY_EXPONENTS
from simulators.kit.errors import Invalid

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_BPS",
    "MAX_MONEY_MINOR",
    "MAX_QUANTITY",
    "SKU_PATTERN",
    "BodyDate",
    "Bps",
    "ExternalId",
    "Flag",
    "Int",
    "Money",
    "PatchBody",
    "Quantity",
    "RequestBody",
    "Sku",
    "check_currency",
    "check_date",
    "check_money_total",
    "check_quantity_total",
]

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
# 10**15 minor units: ten trillion in a two-decimal currency, far past any real
# invoice and well inside the 2**53 that JSON readers hold exactly.
MAX_MONEY_MINOR = 10**15
MAX_QUANTITY = 10**9
MAX_BPS = 10_000

# One SKU rule for every system a SKU passes through (CPQ, billing, support, ERP):
# letters, digits and ``. _ : -``, no "/", so a SKU always fits in a URL path segment
# (``GET /items/by-sku/{sku}``) and a SKU one system takes every other one takes too.
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
MAX_SKU_LENGTH = 64

Int = Annotated[int, Strict()]
"""An integer that must arrive as a JSON integer: no bool, string or float."""
Flag = Annotated[bool, Strict()]
"""A boolean that must arrive as JSON ``true`` or ``false``: no 1, 0 or ``"true"``."""
Money = Annotated[
    int,
    Strict(),
    Field(ge=0, le=MAX_MONEY_MINOR, description="Minor units (cents), 0 to 10**15."),
]
Quantity = Annotated[int, Strict(), Field(ge=0, le=MAX_QUANTITY, description="0 to 10**9.")]
ExternalId = Annotated[str, Field(min_length=1, max_length=255)]
"""An external id a Pact provider state links an object to (1 to 255 characters)."""
Bps = Annotated[
    int, Strict(), Field(ge=0, le=MAX_BPS, description="Basis points, 0 to 10000: 1000 = 10 %.")
]


Sku = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_SKU_LENGTH,
        pattern=SKU_PATTERN,
        description="1 to 64 letters, digits and . _ : - (no /), starting with a letter or digit.",
    ),
]
"""A SKU in a request body: the same rule in every system."""


def check_currency(currency: str, field: str = "currency") -> str:
    """422 ``unsupported_currency`` unless golive prices in ``currency`` (``lifecycle.money``)."""
    if currency not in CURRENCY_EXPONENTS:
        raise Invalid(
            "unsupported_currency",
            f"currency {currency!r} is not supported",
            [{"field": field, "message": f"one of {sorted(CURRENCY_EXPONENTS)}"}],
        )
    return currency


def check_money_total(amount_minor: int, field: str) -> None:
    """422 ``amount_too_large`` when a computed total passes ``MAX_MONEY_MINOR``.

    Each amount and quantity in a body is bounded; their products (a line of 10**9
    units, a 120-month term) are checked here, where the rule computes them.
    """
    if amount_minor > MAX_MONEY_MINOR:
        raise Invalid(
            "amount_too_large",
            f"the total {amount_minor} passes the largest amount, {MAX_MONEY_MINOR} minor units",
            [{"field": field, "message": f"the total must be at most {MAX_MONEY_MINOR}"}],
        )


def check_quantity_total(quantity: int, field: str) -> None:
    """422 ``quantity_too_large`` when a summed quantity passes ``MAX_QUANTITY``.

    Each quantity in a body is bounded; a sum of them (a period's usage records) is
    checked here, where the rule adds them up, so no line ever carries more.
    """
    if quantity > MAX_QUANTITY:
        raise Invalid(
            "quantity_too_large",
            f"the total quantity {quantity} passes the largest quantity, {MAX_QUANTITY}",
            [{"field": field, "message": f"the total quantity must be at most {MAX_QUANTITY}"}],
        )


def check_date(value: str) -> str:
    """A real calendar day (not 2026-02-30) within 2000-01-01 .. 2100-12-31."""
    day = date.fromisoformat(value)
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


BodyDate = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="Calendar date, ISO 8601, 2000-01-01 to 2100-12-31.",
        json_schema_extra={"format": "date"},
    ),
    AfterValidator(check_date),
]
"""A request-body date: ISO text kept as text, as the canonical entities store it."""


class RequestBody(BaseModel):
    """Base of request bodies: a field the API does not know is refused (422)."""

    model_config = ConfigDict(extra="forbid")


def _nullable(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _nullable(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return any(_nullable(arg) for arg in get_args(annotation))
    return False


class PatchBody(RequestBody):
    """Base of PATCH bodies: an omitted field is left as it is; ``null`` clears a field.

    ``ENTITY`` names the canonical model the PATCH changes. A field may be sent as
    ``null`` only where that model's field is nullable; anywhere else ``null`` is a
    422 naming the field (``null_not_allowed``), so no PATCH can store an object the
    simulator could not export and seed back. The OpenAPI schema says the same.
    """

    ENTITY: ClassVar[type[BaseModel] | None] = None
    NOT_NULL: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        entity_fields = cls.ENTITY.model_fields if cls.ENTITY is not None else {}
        cls.NOT_NULL = frozenset(
            name
            for name in cls.model_fields
            if name not in entity_fields or not _nullable(entity_fields[name].annotation)
        )

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise PydanticCustomError(
                "null_not_allowed", "may not be null; omit the field to leave it unchanged"
            )
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            if name not in cls.NOT_NULL or "anyOf" not in prop:
                continue
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            if len(options) == 1:
                prop.update(options[0])
            else:
                prop["anyOf"] = options
            if prop.get("default", ...) is None:
                del prop["default"]
        return schema
