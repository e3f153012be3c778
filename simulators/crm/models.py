"""Request bodies of the CRM API (responses are the lifecycle.entities models)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lifecycle.entities._base import CurrencyCode
from lifecycle.entities.crm import Account, Contact, Opportunity
from lifecycle.states import OpportunityStage
from simulators.kit.bodies import BodyDate, Flag, Int, Money, PatchBody, RequestBody
from simulators.kit.params import Id

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
Name = Annotated[str, Field(min_length=1, max_length=255)]
Percent = Annotated[Int, Field(ge=0, le=100)]


class AccountCreate(RequestBody):
    name: Name
    external_id: str | None = Field(None, max_length=255)
    parent_id: Id | None = None
    segment: Segment = "smb"
    region: Region = "na"
    country: str = Field("US", pattern=r"^[A-Z]{2}$")
    currency: CurrencyCode = "USD"
    industry: str | None = Field(None, max_length=100)
    website: str | None = Field(None, max_length=255)
    owner: str | None = Field(None, max_length=100)


class AccountUpdate(PatchBody):
    ENTITY = Account

    name: str | None = Field(None, min_length=1, max_length=255)
    parent_id: Id | None = None
    segment: Segment | None = None
    region: Region | None = None
    industry: str | None = Field(None, max_length=100)
    website: str | None = Field(None, max_length=255)
    owner: str | None = Field(None, max_length=100)


class ContactCreate(RequestBody):
    account_id: Id
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    external_id: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=50)
    title: str | None = Field(None, max_length=100)
    is_primary: Flag = False


class ContactUpdate(PatchBody):
    ENTITY = Contact

    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, min_length=1, max_length=100)
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)
    phone: str | None = Field(None, max_length=50)
    title: str | None = Field(None, max_length=100)
    is_primary: Flag | None = None


class OpportunityCreate(RequestBody):
    account_id: Id
    name: Name
    external_id: str | None = Field(None, max_length=255)
    type: Literal["new_business", "renewal", "expansion"] = "new_business"
    stage: Literal["prospecting", "qualification"] = "prospecting"
    amount_minor: Money | None = None
    currency: CurrencyCode | None = Field(None, description="Default: the account's currency.")
    close_date: BodyDate | None = None
    probability: Percent | None = Field(None, description="Default: by stage.")


class OpportunityUpdate(PatchBody):
    ENTITY = Opportunity

    name: str | None = Field(None, min_length=1, max_length=255)
    stage: OpportunityStage | None = None
    amount_minor: Money | None = None
    close_date: BodyDate | None = None
    probability: Percent | None = None
    primary_quote_id: Id | None = None
