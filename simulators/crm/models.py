"""Request bodies of the CRM API (responses are the lifecycle.entities models)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lifecycle.entities._base import CurrencyCode, Date
from lifecycle.states import OpportunityStage
from simulators.kit.bodies import RequestBody

__all__ = [
    "AccountCreate",
    "AccountUpdate",
    "ContactCreate",
    "ContactUpdate",
    "OpportunityCreate",
    "OpportunityUpdate",
]

Segment = Literal["smb", "mid_market", "enterprise"]
Region = Literal["na", "emea", "apac", "latam"]
Name = Field(min_length=1, max_length=255)


class AccountCreate(RequestBody):
    name: str = Name
    external_id: str | None = Field(None, max_length=255)
    parent_id: str | None = None
    segment: Segment = "smb"
    region: Region = "na"
    country: str = Field("US", pattern=r"^[A-Z]{2}$")
    currency: CurrencyCode = "USD"
    industry: str | None = Field(None, max_length=100)
    website: str | None = Field(None, max_length=255)
    owner: str | None = Field(None, max_length=100)


class AccountUpdate(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=255)
    parent_id: str | None = None
    segment: Segment | None = None
    region: Region | None = None
    industry: str | None = Field(None, max_length=100)
    website: str | None = Field(None, max_length=255)
    owner: str | None = Field(None, max_length=100)


class ContactCreate(RequestBody):
    account_id: str
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    external_id: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=50)
    title: str | None = Field(None, max_length=100)
    is_primary: bool = False


class ContactUpdate(RequestBody):
    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, min_length=1, max_length=100)
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    phone: str | None = Field(None, max_length=50)
    title: str | None = Field(None, max_length=100)
    is_primary: bool | None = None


class OpportunityCreate(RequestBody):
    account_id: str
    name: str = Name
    external_id: str | None = Field(None, max_length=255)
    type: Literal["new_business", "renewal", "expansion"] = "new_business"
    stage: Literal["prospecting", "qualification"] = "prospecting"
    amount_minor: int | None = Field(None, ge=0)
    currency: CurrencyCode | None = Field(None, description="Default: the account's currency.")
    close_date: Date | None = None
    probability: int | None = Field(None, ge=0, le=100, description="Default: by stage.")


class OpportunityUpdate(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=255)
    stage: OpportunityStage | None = None
    amount_minor: int | None = Field(None, ge=0)
    close_date: Date | None = None
    probability: int | None = Field(None, ge=0, le=100)
    primary_quote_id: str | None = Field(None, min_length=1, max_length=255)
