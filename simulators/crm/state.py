"""CRM objects and rules: account hierarchies, contacts, the opportunity pipeline."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from lifecycle.entities._base import CurrencyCode
from lifecycle.states import MACHINES, OpportunityStage
from simulators.crm.models import AccountCreate, Name, OpportunityCreate, Segment
from simulators.kit.bodies import Money, check_currency
from simulators.kit.errors import Conflict, Invalid
from simulators.kit.params import Id
from simulators.kit.state import Obj, SystemState, Versions, check_move, provider_state
from simulators.kit.store import CollectionSpec

__all__ = ["CrmState"]

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Website = Annotated[str, Field(max_length=255)]

OPPORTUNITY = MACHINES["opportunity"]
_CLOSED = (OpportunityStage.CLOSED_WON.value, OpportunityStage.CLOSED_LOST.value)
_STAGE_PROBABILITY = {
    "prospecting": 10, "qualification": 20, "proposal": 50, "negotiation": 75,
    "closed_won": 100, "closed_lost": 0,
}  # fmt: skip


class CrmState(SystemState):
    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (
        CollectionSpec(
            "account", indexed=("external_id", "parent_id"), references={"parent_id": "account"}
        ),
        CollectionSpec(
            "contact", indexed=("external_id", "account_id"), references={"account_id": "account"}
        ),
        CollectionSpec(
            "opportunity",
            indexed=("external_id", "account_id", "stage"),
            references={"account_id": "account"},
        ),
    )

    # -- accounts ----------------------------------------------------------------------------

    def _require_account(self, account_id: str, field: str = "account_id") -> Obj:
        account = self.col("account").find(account_id)
        if account is None:
            raise Invalid(
                "unknown_account",
                f"no account with id {account_id!r}",
                [{"field": field, "message": "unknown account"}],
            )
        return account

    def create_account(self, fields: dict[str, Any]) -> Obj:
        check_currency(fields.get("currency", "USD"))
        if fields.get("parent_id") is not None:
            self._require_account(fields["parent_id"], "parent_id")
        account = self.new("account", fields)
        self.emit("account.created", account)
        return account

    def update_account(
        self, account_id: str, changes: dict[str, Any], version: Versions | None
    ) -> Obj:
        account = self.col("account").get(account_id)
        parent_id = changes.get("parent_id")
        if parent_id is not None:
            self._require_account(parent_id, "parent_id")
            # Walk up from the new parent: meeting this account would make a cycle.
            cursor: str | None = parent_id
            while cursor is not None:
                if cursor == account_id:
                    raise Invalid(
                        "hierarchy_cycle",
                        f"{parent_id} is {account_id} or one of its subsidiaries",
                        [{"field": "parent_id", "message": "would create a cycle"}],
                    )
                cursor = self.col("account").get(cursor).get("parent_id")
        account = self.update("account", account, changes, version)
        self.emit("account.updated", account)
        return account

    def subsidiaries(self, account_id: str) -> list[Obj]:
        self.col("account").get(account_id)
        return self.col("account").by("parent_id", account_id)

    # -- contacts ----------------------------------------------------------------------------

    def create_contact(self, fields: dict[str, Any]) -> Obj:
        self._require_account(fields["account_id"])
        contact = self.new("contact", fields)
        self.emit("contact.created", contact)
        return contact

    def update_contact(
        self, contact_id: str, changes: dict[str, Any], version: Versions | None
    ) -> Obj:
        contact = self.update("contact", self.col("contact").get(contact_id), changes, version)
        self.emit("contact.updated", contact)
        return contact

    # -- opportunities -----------------------------------------------------------------------

    def create_opportunity(self, fields: dict[str, Any]) -> Obj:
        account = self._require_account(fields["account_id"])
        if fields.get("currency") is None:
            fields["currency"] = account["currency"]
        check_currency(fields["currency"])
        now = self.now()
        stage = fields.get("stage", "prospecting")
        if fields.get("probability") is None:
            fields["probability"] = _STAGE_PROBABILITY[stage]
        opportunity = self.new(
            "opportunity",
            {**fields, "stage": stage, "primary_quote_id": None, "closed_at": None,
             "stage_history": [{"stage": stage, "at": now}]},
        )  # fmt: skip
        self.emit("opportunity.created", opportunity)
        return opportunity

    def update_opportunity(
        self, opportunity_id: str, changes: dict[str, Any], version: Versions | None
    ) -> Obj:
        opportunity = self.col("opportunity").get(opportunity_id)
        if opportunity["stage"] in _CLOSED:
            # Salesforce locks a closed opportunity: no stage move, no edits.
            if "stage" in changes:
                check_move(opportunity, OPPORTUNITY, changes["stage"], "stage")
            raise Conflict(
                "opportunity_closed",
                f"{opportunity_id} is {opportunity['stage']} and cannot change",
                [{"field": "stage", "message": "allowed from a closed stage: none (final)"}],
            )
        target = changes.pop("stage", None)
        if target is None or target == opportunity["stage"]:
            updated = self.update("opportunity", opportunity, changes, version)
            self.emit("opportunity.updated", updated)
            return updated
        merged = {**opportunity, **changes}
        if target == OpportunityStage.CLOSED_WON:
            problems = []
            if not merged.get("amount_minor"):
                problems.append({"field": "amount_minor", "message": "a won deal needs an amount"})
            if not merged.get("primary_quote_id"):
                problems.append(
                    {"field": "primary_quote_id", "message": "a won deal needs its primary quote"}
                )
            if problems:
                code = (
                    "amount_required"
                    if problems[0]["field"] == "amount_minor"
                    else "primary_quote_required"
                )
                raise Invalid(code, "closing won needs an amount and a primary quote", problems)
        now = self.now()
        history = [*opportunity["stage_history"], {"stage": target, "at": now}]
        extra: dict[str, Any] = {"stage_history": history}
        if "probability" not in changes:
            extra["probability"] = _STAGE_PROBABILITY[target]
        if target in _CLOSED:
            extra["closed_at"] = now
        updated = self.move(
            "opportunity", opportunity, OPPORTUNITY, target, {**changes, **extra},
            field="stage", expected_version=version,
        )  # fmt: skip
        self.emit("opportunity.stage_changed", updated)
        if target in _CLOSED:
            self.emit(f"opportunity.{target}", updated)
        return updated

    # -- Pact provider states ----------------------------------------------------------------

    # Objects are built from the API's own request bodies, so they have every field a
    # POST would give them.

    @provider_state("an account exists")
    def _state_account(
        self, id: Id | None = None, name: Name = "Acme Corp", currency: CurrencyCode = "USD"
    ) -> Obj:
        account = self.col("account").find(id)
        if account is None:
            body = AccountCreate.model_validate({"name": name, "currency": currency})
            account = self.create_account(body.model_dump())
            if id is not None:
                account = self.with_id("account", account, id)
        return {"account_id": account["id"]}

    @provider_state("an opportunity in negotiation exists")
    def _state_negotiation(
        self, id: Id | None = None, account_id: Id | None = None,
        amount_minor: Money = 1_200_000,
    ) -> Obj:  # fmt: skip
        account = self._state_account(id=account_id)
        opportunity = self.col("opportunity").find(id)
        if opportunity is None:
            opportunity = self.create_opportunity(
                OpportunityCreate.model_validate(
                    {"account_id": account["account_id"], "name": "Pact deal",
                     "amount_minor": amount_minor}
                ).model_dump()
            )  # fmt: skip
            opportunity = self.update_opportunity(opportunity["id"], {"stage": "negotiation"}, None)
            if id is not None:
                opportunity = self.with_id("opportunity", opportunity, id)
        return {"opportunity_id": opportunity["id"], "account_id": opportunity["account_id"]}

    @provider_state("an account {account_id} exists")
    def _state_named_account(
        self, account_id: Id | None = None, name: Name = "Acme Corp", segment: Segment = "smb",
        country: CountryCode = "US", website: Website | None = "https://acme.example.com",
        currency: CurrencyCode = "USD",
    ) -> Obj:  # fmt: skip
        """The account with these fields (an existing one takes them)."""
        fields = {"name": name, "segment": segment, "country": country, "website": website,
                  "currency": currency}  # fmt: skip
        account = self.col("account").find(account_id)
        if account is None:
            account = self.create_account(AccountCreate.model_validate(fields).model_dump())
            if account_id is not None:
                account = self.with_id("account", account, account_id)
        elif any(account.get(k) != v for k, v in fields.items()):
            account = self.update("account", account, fields)
        return {"account_id": account["id"]}

    @provider_state("an opportunity {opportunity_id} was won")
    def _state_won(
        self, opportunity_id: Id | None = None, account_id: Id | None = None,
        quote_id: Id = "q_pact", amount_minor: Money = 1_200_000,
    ) -> Obj:  # fmt: skip
        """A deal of the account closed won with this primary quote: ``opportunity.closed_won``."""
        account = self._state_named_account(account_id=account_id)["account_id"]
        won = self.col("opportunity").find(opportunity_id)
        if won is None:
            won = self.create_opportunity(
                OpportunityCreate.model_validate(
                    {"account_id": account, "name": "Pact deal", "amount_minor": amount_minor}
                ).model_dump()
            )
            if opportunity_id is not None:
                won = self.with_id("opportunity", won, opportunity_id)
        if won["stage"] != OpportunityStage.CLOSED_WON:
            changes = {"stage": "closed_won", "primary_quote_id": quote_id}
            won = self.update_opportunity(won["id"], changes, None)
        return {"opportunity_id": won["id"], "account_id": won["account_id"]}
