"""CRM simulator: a Salesforce-like account, contact and opportunity API.

Faithful to: account hierarchies (parent_id, no cycles); the opportunity pipeline
prospecting → qualification → proposal → negotiation → closed_won | closed_lost,
moving freely between open stages as Salesforce allows; closing won needs an
amount and a primary quote (Salesforce validation rules as most orgs set them);
closed opportunities are locked; stage probabilities follow Salesforce defaults.

LIMITATIONS: no SOQL, no record types or custom fields, no sharing rules, no
Salesforce-shaped URLs (``/services/data/vXX.X/sobjects``); one currency per
opportunity, no dated exchange rates.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.responses import Response

from lifecycle.entities.crm import Account, Contact, Opportunity
from lifecycle.states import OpportunityStage
from simulators.crm.models import (
    AccountCreate,
    AccountUpdate,
    ContactCreate,
    ContactUpdate,
    OpportunityCreate,
    OpportunityUpdate,
)
from simulators.crm.state import CrmState
from simulators.kit.app import build_app
from simulators.kit.errors import problem_responses
from simulators.kit.http import (
    CURSOR,
    IF_MATCH,
    LIMIT,
    ListOf,
    expected_version,
    filtered_page,
    list_response,
    object_response,
)
from simulators.kit.params import Filter, IdFilter
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime, SimConfig

__all__ = ["create_app"]

_GET = problem_responses(404)
_CREATE = problem_responses(422)
_PATCH = problem_responses(404, 409, 412, 422)


def _routes(state: CrmState) -> APIRouter:
    r = APIRouter(tags=["crm"], route_class=SimRoute)
    accounts, contacts, opps = state.col("account"), state.col("contact"), state.col("opportunity")

    @r.post("/accounts", status_code=201, response_model=Account, responses=_CREATE)
    async def create_account(body: AccountCreate) -> Response:
        return object_response(state.create_account(body.model_dump()), 201)

    @r.get("/accounts", response_model=ListOf(Account), responses=_CREATE)
    async def list_accounts(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        parent_id: IdFilter = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(accounts, limit, cursor, parent_id=parent_id, external_id=external_id)

    @r.get("/accounts/{account_id}", response_model=Account, responses=_GET)
    async def get_account(account_id: str) -> Response:
        return object_response(accounts.get(account_id))

    @r.get("/accounts/{account_id}/subsidiaries", response_model=ListOf(Account), responses=_GET)
    async def list_subsidiaries(account_id: str) -> Response:
        return list_response(state.subsidiaries(account_id))

    @r.patch("/accounts/{account_id}", response_model=Account, responses=_PATCH)
    async def update_account(
        account_id: str,
        body: AccountUpdate,
        if_match: str | None = IF_MATCH,
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_account(account_id, changes, expected_version(if_match))
        )

    @r.post("/contacts", status_code=201, response_model=Contact, responses=_CREATE)
    async def create_contact(body: ContactCreate) -> Response:
        return object_response(state.create_contact(body.model_dump()), 201)

    @r.get("/contacts", response_model=ListOf(Contact), responses=_CREATE)
    async def list_contacts(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        account_id: IdFilter = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(
            contacts, limit, cursor, account_id=account_id, external_id=external_id
        )

    @r.get("/contacts/{contact_id}", response_model=Contact, responses=_GET)
    async def get_contact(contact_id: str) -> Response:
        return object_response(contacts.get(contact_id))

    @r.patch("/contacts/{contact_id}", response_model=Contact, responses=_PATCH)
    async def update_contact(
        contact_id: str,
        body: ContactUpdate,
        if_match: str | None = IF_MATCH,
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_contact(contact_id, changes, expected_version(if_match))
        )

    @r.post("/opportunities", status_code=201, response_model=Opportunity, responses=_CREATE)
    async def create_opportunity(body: OpportunityCreate) -> Response:
        return object_response(state.create_opportunity(body.model_dump()), 201)

    @r.get("/opportunities", response_model=ListOf(Opportunity), responses=_CREATE)
    async def list_opportunities(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        account_id: IdFilter = None,
        stage: OpportunityStage | None = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(
            opps, limit, cursor, account_id=account_id, stage=stage, external_id=external_id
        )

    @r.get("/opportunities/{opportunity_id}", response_model=Opportunity, responses=_GET)
    async def get_opportunity(opportunity_id: str) -> Response:
        return object_response(opps.get(opportunity_id))

    @r.patch("/opportunities/{opportunity_id}", response_model=Opportunity, responses=_PATCH)
    async def update_opportunity(
        opportunity_id: str,
        body: OpportunityUpdate,
        if_match: str | None = IF_MATCH,
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_opportunity(opportunity_id, changes, expected_version(if_match))
        )

    return r


def create_app(config: SimConfig | None = None) -> FastAPI:
    """The CRM simulator as an ASGI app."""
    state = CrmState(Runtime("crm", config))
    return build_app(state, _routes(state), title="golive CRM simulator", description=__doc__ or "")
