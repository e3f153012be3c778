"""Support entities (Zendesk/ServiceNow-like): organizations, entitlements, cases with SLAs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.entities._base import Date, Entity, Timestamp
from lifecycle.states import CaseStatus, EntitlementStatus

__all__ = ["Case", "CaseComment", "Entitlement", "Organization"]

Priority = Literal["low", "normal", "high", "urgent"]


class Organization(Entity):
    name: str
    crm_account_id: str | None = None
    domain: str | None = None


class Entitlement(Entity):
    organization_id: str
    sku: str
    support_tier: Literal["standard", "premium", "enterprise"] = "standard"
    status: EntitlementStatus = EntitlementStatus.ACTIVE
    start_date: Date
    end_date: Date | None = None
    subscription_id: str | None = None


class CaseComment(BaseModel):
    """A reply on a case; a public one by an agent is the first response the SLA measures."""

    model_config = ConfigDict(extra="forbid")

    id: str
    author: str
    author_role: Literal["agent", "end_user"] = "agent"
    body: str
    public: bool = True
    created_at: Timestamp


class Case(Entity):
    organization_id: str
    subject: str
    description: str = ""
    requester_email: str | None = None
    priority: Priority = "normal"
    status: CaseStatus = CaseStatus.NEW
    entitlement_id: str | None = None
    flags: list[str] = Field(
        default_factory=list,
        description="no_active_entitlement when the organization had none at creation.",
    )
    first_response_due_at: Timestamp
    resolution_due_at: Timestamp
    first_responded_at: Timestamp | None = None
    sla_breached: bool = False
    solved_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    comments: list[CaseComment] = Field(default_factory=list)
