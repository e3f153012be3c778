"""Request bodies of the support API (responses are the lifecycle.entities models).

Every field is bounded so a fuzzer's extremes get a 422, never a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from lifecycle.states import CaseStatus
from simulators.kit.bodies import RequestBody, bounded_date

__all__ = [
    "CaseCreate",
    "CaseUpdate",
    "CommentCreate",
    "EntitlementCreate",
    "EntitlementUpdate",
    "OrganizationCreate",
    "OrganizationUpdate",
]


Priority = Literal["low", "normal", "high", "urgent"]
SupportTier = Literal["standard", "premium", "enterprise"]
ExternalId = Field(None, max_length=255)
ObjectId = Field(None, min_length=1, max_length=100)
Domain = Field(None, max_length=253, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
Email = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)


class OrganizationCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    external_id: str | None = ExternalId
    crm_account_id: str | None = ObjectId
    domain: str | None = Domain


class OrganizationUpdate(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=255)
    crm_account_id: str | None = ObjectId
    domain: str | None = Domain


class EntitlementCreate(RequestBody):
    organization_id: str = Field(min_length=1, max_length=100)
    sku: str = Field(min_length=1, max_length=100)
    support_tier: SupportTier = "standard"
    start_date: date | None = Field(None, description="Default: today.")
    end_date: date | None = Field(None, description="Exclusive: in force before this day.")
    subscription_id: str | None = ObjectId
    status: Literal["active", "suspended"] = "active"
    external_id: str | None = ExternalId

    _check_dates = field_validator("start_date", "end_date")(bounded_date)


class EntitlementUpdate(RequestBody):
    sku: str | None = Field(None, min_length=1, max_length=100)
    support_tier: SupportTier | None = None
    end_date: date | None = None
    subscription_id: str | None = ObjectId

    _check_dates = field_validator("end_date")(bounded_date)


class CaseCreate(RequestBody):
    organization_id: str = Field(min_length=1, max_length=100)
    subject: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=20_000)
    requester_email: str | None = Email
    priority: Priority = "normal"
    external_id: str | None = ExternalId


class CaseUpdate(RequestBody):
    subject: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=20_000)
    requester_email: str | None = Email
    priority: Priority | None = None
    status: CaseStatus | None = None


class CommentCreate(RequestBody):
    author: str = Field(min_length=1, max_length=255)
    author_role: Literal["agent", "end_user"] = "agent"
    body: str = Field(min_length=1, max_length=20_000)
    public: bool = True
