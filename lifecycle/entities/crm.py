"""CRM entities (Salesforce-like): accounts with a parent hierarchy, contacts, opportunities."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.entities._base import CurrencyCode, Date, Entity, MinorUnits, Timestamp
from lifecycle.states import OpportunityStage

__all__ = ["Account", "Contact", "Opportunity", "StageChange"]

Segment = Literal["smb", "mid_market", "enterprise"]
Region = Literal["na", "emea", "apac", "latam"]


class Account(Entity):
    name: str
    parent_id: str | None = None
    segment: Segment = "smb"
    region: Region = "na"
    country: str = Field("US", pattern=r"^[A-Z]{2}$")
    currency: CurrencyCode = "USD"
    industry: str | None = None
    website: str | None = None
    owner: str | None = None


class Contact(Entity):
    account_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    title: str | None = None
    is_primary: bool = False


class StageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: OpportunityStage
    at: Timestamp


class Opportunity(Entity):
    account_id: str
    name: str
    type: Literal["new_business", "renewal", "expansion"] = "new_business"
    stage: OpportunityStage = OpportunityStage.PROSPECTING
    amount_minor: MinorUnits | None = None
    currency: CurrencyCode = "USD"
    close_date: Date | None = None
    probability: int = Field(10, ge=0, le=100)
    primary_quote_id: str | None = None
    closed_at: Timestamp | None = None
    stage_history: list[StageChange] = Field(default_factory=list)
