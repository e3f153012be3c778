"""Support simulator: a Zendesk/ServiceNow-like organization, entitlement and case API.

Faithful to: organization names are unique (Zendesk's "Name has already been
taken"; option ``unique_organization_names`` turns it off); entitlements
``active | suspended | expired`` as ServiceNow contract entitlements, in force
from ``start_date`` up to (not including) ``end_date``; case statuses
``new → open ⇄ pending → solved → closed`` as Zendesk tickets, solved reopenable
until closed and closed cases read-only; a public agent reply is the first
response and opens a new case, a requester reply reopens a pending or solved
one; SLA targets (first reply, full resolution) by priority and support tier
from a policy table (``simulators/support/sla.py``), re-applied when the priority
changes; a case is breached when a target passes before it is met, on the
simulator clock; a case for an organization with no entitlement in force is
accepted and flagged ``no_active_entitlement`` (ServiceNow's entitlement check
warns, it does not block); the best entitlement in force is linked to the case.

LIMITATIONS: calendar-hour SLAs only (no business hours, no pausing while
pending); no agents, groups, macros, triggers or views; comments are stored on
the case (no attachments); breach timers fire as jobs of the clock at the instant
a target passes (with the clock running, up to a second late), never on a read;
entitlements expire at 00:00 UTC on their end date (a job of the clock) or on
``POST /entitlements/{id}/expire``; no Zendesk-shaped URLs.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.responses import Response

from lifecycle.entities.support import Case, Entitlement, Organization
from lifecycle.states import CaseStatus, EntitlementStatus
from simulators.kit.app import build_app
from simulators.kit.errors import problem_responses
from simulators.kit.http import (
    CURSOR,
    IF_MATCH,
    LIMIT,
    ListOf,
    expected_version,
    filtered_page,
    object_response,
)
from simulators.kit.params import Filter, IdFilter
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime, SimConfig
from simulators.support.models import (
    CaseCreate,
    CaseUpdate,
    CommentCreate,
    EntitlementCreate,
    EntitlementUpdate,
    OrganizationCreate,
    OrganizationUpdate,
)
from simulators.support.models import Priority as _Priority
from simulators.support.state import SupportState

__all__ = ["create_app"]

_GET = problem_responses(404)
_LIST = problem_responses(422)
_CREATE = problem_responses(409, 422)
_PATCH = problem_responses(404, 409, 412, 422)
_MOVE = problem_responses(404, 409, 422)


def _routes(state: SupportState) -> APIRouter:
    r = APIRouter(tags=["support"], route_class=SimRoute)
    orgs, ents, cases = state.col("organization"), state.col("entitlement"), state.col("case")

    # -- organizations -----------------------------------------------------------------------

    @r.post("/organizations", status_code=201, response_model=Organization, responses=_CREATE)
    async def create_organization(body: OrganizationCreate) -> Response:
        return object_response(state.create_organization(body.model_dump()), 201)

    @r.get("/organizations", response_model=ListOf(Organization), responses=_LIST)
    async def list_organizations(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        external_id: Filter = None,
        crm_account_id: IdFilter = None,
        domain: Filter = None,
        name: Filter = None,
    ) -> Response:
        return filtered_page(
            orgs,
            limit,
            cursor,
            external_id=external_id,
            crm_account_id=crm_account_id,
            domain=domain,
            name=name,
        )

    @r.get("/organizations/{organization_id}", response_model=Organization, responses=_GET)
    async def get_organization(organization_id: str) -> Response:
        return object_response(orgs.get(organization_id))

    @r.patch("/organizations/{organization_id}", response_model=Organization, responses=_PATCH)
    async def update_organization(
        organization_id: str, body: OrganizationUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_organization(organization_id, changes, expected_version(if_match))
        )

    # -- entitlements ------------------------------------------------------------------------

    @r.post("/entitlements", status_code=201, response_model=Entitlement, responses=_CREATE)
    async def create_entitlement(body: EntitlementCreate) -> Response:
        return object_response(state.create_entitlement(body.model_dump()), 201)

    @r.get("/entitlements", response_model=ListOf(Entitlement), responses=_LIST)
    async def list_entitlements(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        external_id: Filter = None,
        organization_id: IdFilter = None,
        subscription_id: IdFilter = None,
        status: EntitlementStatus | None = None,
        sku: Filter = None,
    ) -> Response:
        return filtered_page(
            ents,
            limit,
            cursor,
            external_id=external_id,
            organization_id=organization_id,
            subscription_id=subscription_id,
            status=status,
            sku=sku,
        )

    @r.get("/entitlements/{entitlement_id}", response_model=Entitlement, responses=_GET)
    async def get_entitlement(entitlement_id: str) -> Response:
        return object_response(ents.get(entitlement_id))

    @r.patch("/entitlements/{entitlement_id}", response_model=Entitlement, responses=_PATCH)
    async def update_entitlement(
        entitlement_id: str, body: EntitlementUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_entitlement(entitlement_id, changes, expected_version(if_match))
        )

    def _mover(action: str, target: str) -> None:
        @r.post(
            f"/entitlements/{{entitlement_id}}/{action}",
            response_model=Entitlement,
            responses=_MOVE,
            name=f"{action}_entitlement",
            summary=f"{action.title()} an entitlement (→ {target})",
        )
        async def move(entitlement_id: str) -> Response:
            return object_response(state.move_entitlement(entitlement_id, target))

    for action, target in (
        ("suspend", "suspended"),
        ("reactivate", "active"),
        ("expire", "expired"),
    ):
        _mover(action, target)

    # -- cases -------------------------------------------------------------------------------

    @r.post("/cases", status_code=201, response_model=Case, responses=_CREATE)
    async def create_case(body: CaseCreate) -> Response:
        return object_response(state.create_case(body.model_dump()), 201)

    @r.get("/cases", response_model=ListOf(Case), responses=_LIST)
    async def list_cases(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        external_id: Filter = None,
        organization_id: IdFilter = None,
        status: CaseStatus | None = None,
        priority: _Priority | None = None,
        sla_breached: bool | None = None,
    ) -> Response:
        return filtered_page(
            cases,
            limit,
            cursor,
            external_id=external_id,
            organization_id=organization_id,
            status=status,
            priority=priority,
            sla_breached=sla_breached,
        )

    @r.get("/cases/{case_id}", response_model=Case, responses=_GET)
    async def get_case(case_id: str) -> Response:
        return object_response(cases.get(case_id))

    @r.patch("/cases/{case_id}", response_model=Case, responses=_PATCH)
    async def update_case(
        case_id: str, body: CaseUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(state.update_case(case_id, changes, expected_version(if_match)))

    @r.post("/cases/{case_id}/comments", response_model=Case, status_code=201, responses=_MOVE)
    async def add_comment(case_id: str, body: CommentCreate) -> Response:
        """A reply; a public agent reply is the first response and moves new → open."""
        return object_response(state.add_comment(case_id, body.model_dump()), 201)

    return r


def create_app(config: SimConfig | None = None) -> FastAPI:
    """The support simulator as an ASGI app."""
    state = SupportState(Runtime("support", config))
    return build_app(
        state, _routes(state), title="golive support simulator", description=__doc__ or ""
    )
