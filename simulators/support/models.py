"""Request bodies of the support API (responses are the lifecycle.entities models).

Every field is bounded so a fuzzer's extremes get a 422, never a 500.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lifecycle.entities.support import Case, Entitlement, Organization
from lifecycle.states import CaseStatus
from simulators.kit.bodies import BodyDate, Flag, PatchBody, RequestBody, Sku
from simulators.kit.params import Id

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
Name = Annotated[str, Field(min_length=1, max_length=255)]
ExternalIdText = Annotated[str, Field(max_length=255)]
Domain = Field(None, max_length=253, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
Email = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=255)


class OrganizationCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    external_id: str | None = ExternalId
    crm_account_id: Id | None = None
    domain: str | None = Domain


class OrganizationUpdate(PatchBody):
    ENTITY = Organization

    name: str | None = Field(None, min_length=1, max_length=255)
    crm_account_id: Id | None = None
    domain: str | None = Domain


class EntitlementCreate(RequestBody):
    organization_id: Id
    sku: Sku
    support_tier: SupportTier = "standard"
    start_date: BodyDate | None = Field(None, description="Default: today.")
    end_date: BodyDate | None = Field(None, description="Exclusive: in force before this day.")
    subscription_id: Id | None = None
    status: Literal["active", "suspended"] = "active"
    external_id: str | None = ExternalId


class EntitlementUpdate(PatchBody):
    ENTITY = Entitlement

    sku: Sku | None = None
    support_tier: SupportTier | None = None
    end_date: BodyDate | None = None
    subscription_id: Id | None = None


class CaseCreate(RequestBody):
    organization_id: Id
    subject: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=20_000)
    requester_email: str | None = Email
    priority: Priority = "normal"
    external_id: str | None = ExternalId


class CaseUpdate(PatchBody):
    ENTITY = Case

    subject: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=20_000)
    requester_email: str | None = Email
    priority: Priority | None = None
    status: CaseStatus | None = None


class CommentCreate(RequestBody):
    author: str = Field(min_length=1, max_length=255)
    author_role: Literal["agent", "end_user"] = "agent"
    body: str = Field(min_length=1, max_length=20_000)
    public: Flag = True
