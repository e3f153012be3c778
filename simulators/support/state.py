"""Support objects and rules: organizations, entitlements, cases with SLA timers.

SLA breaches follow the simulator clock: the ``sla_breach`` job marks a case at the
instant its running target passes (``kit/scheduler.py``), and every change to a case
runs the same check on it first; entitlements expire at 00:00 UTC on their end date.
Reads never write: the jobs do, at their due time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from lifecycle.states import MACHINES, CaseStatus, EntitlementStatus
from simulators.kit.bodies import BodyDate, ExternalId, Sku
from simulators.kit.clock import format_instant, parse_instant
from simulators.kit.errors import Conflict, Invalid
from simulators.kit.params import Id
from simulators.kit.scheduler import JobResult, JobSpec, day_start
from simulators.kit.state import Obj, SystemState, Versions, check_move, provider_state
from simulators.kit.store import CollectionSpec
from simulators.support.models import ExternalIdText, Name, SupportTier
from simulators.support.sla import DEFAULT_TIER, TIER_RANK, due_times

__all__ = ["MAX_COMMENTS", "SupportState"]

CASE = MACHINES["case"]
ENTITLEMENT = MACHINES["entitlement"]
MAX_COMMENTS = 5_000  # Zendesk caps a ticket at 5,000 comments
NO_ENTITLEMENT = "no_active_entitlement"
# While a case is in one of these its SLA clocks run (no pausing on pending: LIMITATIONS).
_RUNNING = (CaseStatus.NEW.value, CaseStatus.OPEN.value, CaseStatus.PENDING.value)
# Zendesk reopens a pending or solved ticket when the requester replies.
_REOPEN_ON_REQUESTER_REPLY = {CaseStatus.PENDING.value, CaseStatus.SOLVED.value}
SLA_DUE = "sla_due"
ENDS_ON = "ends_on"
_ENTITLEMENT_EVENTS = {
    "active": "entitlement.activated",
    "suspended": "entitlement.suspended",
    "expired": "entitlement.expired",
}


def _deadlines(case: Obj) -> list[float]:
    """The case's running SLA deadlines, as epoch seconds (none once breached or solved)."""
    if case["sla_breached"] or case["status"] not in _RUNNING:
        return []
    due = [parse_instant(case["resolution_due_at"]).timestamp()]
    if case["first_responded_at"] is None:
        due.append(parse_instant(case["first_response_due_at"]).timestamp())
    return due


def sla_due(case: Obj) -> float | None:
    """The case's next running SLA deadline (the key of the ``sla_due`` index)."""
    return min(_deadlines(case), default=None)


def ends_on(entitlement: Obj) -> str | None:
    """The end date of an entitlement that has yet to expire."""
    if entitlement["status"] == EntitlementStatus.EXPIRED:
        return None
    end: str | None = entitlement["end_date"]
    return end


class SupportState(SystemState):
    SYSTEM = "support"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (
        CollectionSpec(
            "organization", indexed=("external_id", "crm_account_id", "name"), unique=("name",)
        ),
        CollectionSpec(
            "entitlement",
            indexed=("external_id", "organization_id", "status", "subscription_id"),
            references={"organization_id": "organization"},
            derived={ENDS_ON: ends_on},
        ),
        CollectionSpec(
            "case",
            indexed=("external_id", "organization_id", "status"),
            references={"organization_id": "organization", "entitlement_id": "entitlement"},
            derived={SLA_DUE: sla_due},
        ),
    )
    JOBS: ClassVar[tuple[JobSpec, ...]] = (
        JobSpec("sla_breach", due="next_breach_due", run="run_breach_job"),
        JobSpec("entitlement_expiry", due="next_expiry_due", run="run_expiry_job"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Zendesk refuses a second organization with the same name; a scenario can allow it.
        self.col("organization").enforce_unique = bool(
            self.options.get("unique_organization_names", True)
        )

    # -- jobs --------------------------------------------------------------------------------

    def next_breach_due(self) -> float | None:
        deadline = self.col("case").lowest(SLA_DUE)
        # A target is breached once it has passed: one microsecond after the deadline.
        return None if deadline is None else deadline + 1e-6

    def run_breach_job(self, at: datetime) -> JobResult:
        return JobResult(len(self.check_sla_breaches(at.timestamp())))

    def next_expiry_due(self) -> float | None:
        day = self.col("entitlement").lowest(ENDS_ON)
        return None if day is None else day_start(day)

    def run_expiry_job(self, at: datetime) -> JobResult:
        return JobResult(len(self.expire_ended_entitlements()))

    # -- organizations -----------------------------------------------------------------------

    def _require_organization(self, organization_id: str) -> Obj:
        org = self.col("organization").find(organization_id)
        if org is None:
            raise Invalid(
                "unknown_organization",
                f"no organization with id {organization_id!r}",
                [{"field": "organization_id", "message": "unknown organization"}],
            )
        return org

    def create_organization(self, fields: Obj) -> Obj:
        org = self.new("organization", {"crm_account_id": None, "domain": None, **fields})
        self.emit("organization.created", org)
        return org

    def update_organization(self, org_id: str, changes: Obj, version: Versions | None) -> Obj:
        org = self.col("organization").get(org_id)
        org = self.update("organization", org, changes, version)
        self.emit("organization.updated", org)
        return org

    # -- entitlements ------------------------------------------------------------------------

    @staticmethod
    def _check_period(start: str, end: str | None) -> None:
        if end is not None and end <= start:
            raise Invalid(
                "invalid_period",
                f"end_date {end} is not after start_date {start}",
                [{"field": "end_date", "message": "must be after start_date"}],
            )

    def create_entitlement(self, fields: Obj) -> Obj:
        self._require_organization(fields["organization_id"])
        fields = dict(fields)
        fields["start_date"] = fields.get("start_date") or self.today()
        fields.setdefault("end_date", None)
        self._check_period(fields["start_date"], fields["end_date"])
        if fields["end_date"] is not None and fields["end_date"] <= self.today():
            raise Invalid(
                "end_date_in_past",
                f"end_date {fields['end_date']} has passed: never in force",
                [{"field": "end_date", "message": "must be after today"}],
            )
        ent = self.new(
            "entitlement",
            {"support_tier": "standard", "subscription_id": None, "status": "active", **fields},
        )
        self.emit("entitlement.created", ent)
        if ent["status"] == EntitlementStatus.ACTIVE:
            self.emit("entitlement.activated", ent)
        return ent

    def update_entitlement(self, ent_id: str, changes: Obj, version: Versions | None) -> Obj:
        ent = self.col("entitlement").get(ent_id)
        renewed = False
        if ent["status"] == EntitlementStatus.EXPIRED:
            # Renewal: a new end date after today, and nothing else, makes it active again
            # (a middleware that extends it on subscription.renewed may come a moment late).
            end = changes.get("end_date")
            if set(changes) != {"end_date"} or end is None or end <= self.today():
                raise Conflict(
                    "entitlement_expired",
                    f"{ent_id} has expired: only a new end_date after today renews it",
                    [{"field": "end_date", "message": "an expired entitlement renews only "
                      "by an end_date after today"}],
                )  # fmt: skip
            renewed = True
        if "end_date" in changes:
            self._check_period(ent["start_date"], changes["end_date"])
        if renewed:
            check_move(ent, ENTITLEMENT, EntitlementStatus.ACTIVE.value)
            changes = {**changes, "status": EntitlementStatus.ACTIVE.value}
        ent = self.update("entitlement", ent, changes, version)
        self.emit("entitlement.updated", ent)
        if renewed:
            self.emit("entitlement.activated", ent)
        return ent

    def move_entitlement(self, ent_id: str, target: str) -> Obj:
        """suspend (→ suspended), reactivate (→ active) or expire (→ expired)."""
        ent = self.col("entitlement").get(ent_id)
        if ent["status"] == EntitlementStatus.EXPIRED:
            raise Conflict(
                "invalid_transition",
                f"{ent_id} has expired: renew it with a new end_date (PATCH), not {target}",
                [{"field": "status", "message": "expired renews only by a new end_date"}],
            )
        ent = self.move("entitlement", ent, ENTITLEMENT, target)
        self.emit(_ENTITLEMENT_EVENTS[target], ent)
        return ent

    def expire_ended_entitlements(self) -> list[str]:
        """Expire entitlements whose end date has come; for the clock to call."""
        ended = [e["id"] for e in self.col("entitlement").upto(ENDS_ON, self.today())]
        for ent_id in ended:
            self.move_entitlement(ent_id, EntitlementStatus.EXPIRED.value)
        return ended

    def entitlement_in_force(self, organization_id: str) -> Obj | None:
        """The organization's best active entitlement covering today (end date exclusive)."""
        today = self.today()
        live = [
            e for e in self.col("entitlement").by("organization_id", organization_id)
            if e["status"] == EntitlementStatus.ACTIVE and e["start_date"] <= today
            and (e["end_date"] is None or today < e["end_date"])
        ]  # fmt: skip
        if not live:
            return None
        return max(live, key=lambda e: (TIER_RANK[e["support_tier"]], e["end_date"] or "9999"))

    # -- cases: SLA --------------------------------------------------------------------------

    def _now_s(self) -> float:
        # Whole microseconds, as timestamps are written, so a deadline read back from its
        # text compares with the clock the same way in every check.
        return self.clock.now().timestamp()

    def refresh_case(self, case: Obj, now_s: float | None = None) -> Obj:
        """Mark ``case`` breached if a running SLA target has passed on the clock."""
        now_s = self._now_s() if now_s is None else now_s
        if not any(now_s > due for due in _deadlines(case)):
            return case
        case = self.update("case", case, {"sla_breached": True})
        self.emit("case.sla_breached", case)
        return case

    def check_sla_breaches(self, now_s: float | None = None) -> list[str]:
        """Mark every case whose running SLA target has passed; returns their ids.

        The ``sla_breach`` job runs it as time moves; it only reads the cases whose
        next deadline has come (the ``sla_due`` index).
        """
        now_s = self._now_s() if now_s is None else now_s
        breached: list[str] = []
        for case in self.col("case").upto(SLA_DUE, now_s):
            if self.refresh_case(case, now_s) is not case:
                breached.append(case["id"])
        return breached

    # -- cases: life cycle -------------------------------------------------------------------

    def create_case(self, fields: Obj, case_id: str | None = None) -> Obj:
        """A new case with SLA due times; ``case_id`` is for provider states naming the id."""
        self._require_organization(fields["organization_id"])
        ent = self.entitlement_in_force(fields["organization_id"])
        tier = DEFAULT_TIER if ent is None else ent["support_tier"]
        first_due, solve_due = due_times(self.clock.now(), tier, fields.get("priority", "normal"))
        case = self.new(
            "case",
            {"description": "", "requester_email": None, "priority": "normal", **fields,
             "status": CaseStatus.NEW.value,
             "entitlement_id": None if ent is None else ent["id"],
             "flags": [] if ent is not None else [NO_ENTITLEMENT],
             "first_response_due_at": format_instant(first_due),
             "resolution_due_at": format_instant(solve_due),
             "first_responded_at": None, "sla_breached": False, "solved_at": None,
             "closed_at": None, "comments": [], **({"id": case_id} if case_id else {})},
        )  # fmt: skip
        self.emit("case.created", case)
        return case

    def _open_case(self, case_id: str, target: str | None = None) -> Obj:
        """The case, brought up to date with the clock; 409 if it is closed."""
        case = self.refresh_case(self.col("case").get(case_id))
        if case["status"] == CaseStatus.CLOSED:
            # Zendesk: "closed tickets cannot be updated"; a follow-up is a new ticket.
            if target is not None:
                check_move(case, CASE, target)
            raise Conflict(
                "case_closed",
                f"{case_id} is closed and cannot change; open a follow-up case",
                [{"field": "status", "message": "allowed from 'closed': none (final)"}],
            )
        return case

    def _status_fields(self, case: Obj, target: str) -> Obj:
        now = self.now()
        if target == CaseStatus.SOLVED:
            return {"solved_at": now}
        if target == CaseStatus.CLOSED:
            return {"closed_at": now}
        if case["status"] == CaseStatus.SOLVED:
            return {"solved_at": None}  # reopened: resolution time runs on to the next solve
        return {}

    def _save(self, case: Obj, changes: Obj, target: str | None, version: Versions | None) -> Obj:
        if target is None or target == case["status"]:
            return self.update("case", case, changes, version)
        changes = {**changes, **self._status_fields(case, target)}
        return self.move("case", case, CASE, target, changes, expected_version=version)

    def _tier_of(self, case: Obj) -> str:
        ent = self.col("entitlement").find(case["entitlement_id"])
        return DEFAULT_TIER if ent is None else str(ent["support_tier"])

    def update_case(self, case_id: str, changes: Obj, version: Versions | None) -> Obj:
        target = _value(changes.pop("status", None))
        case = self._open_case(case_id, target)
        if changes.get("priority", case["priority"]) != case["priority"]:
            # Zendesk re-applies the SLA policy when the priority changes, from creation time.
            first, solve = due_times(
                parse_instant(case["created_at"]), self._tier_of(case), changes["priority"]
            )
            changes["first_response_due_at"] = format_instant(first)
            changes["resolution_due_at"] = format_instant(solve)
        if not changes and target in (None, case["status"]) and version in (None, case["version"]):
            return case  # nothing to change: no new version, no event
        updated = self._save(case, changes, target, version)
        if changes:
            self.emit("case.updated", updated)
        if updated["status"] != case["status"]:
            self.emit("case.status_changed", updated)
        return self.refresh_case(updated)

    def add_comment(self, case_id: str, fields: Obj) -> Obj:
        """A reply; a public agent reply is the first response and opens a new case."""
        case = self._open_case(case_id)
        if len(case["comments"]) >= MAX_COMMENTS:
            raise Invalid(
                "comment_limit_reached",
                f"{case_id} has {MAX_COMMENTS} comments, the most a case can hold",
                [{"field": "body", "message": "open a follow-up case"}],
            )
        now = self.now()
        comment = {"id": f"{case_id}-c{len(case['comments']) + 1}", **fields, "created_at": now}
        changes: Obj = {"comments": [*case["comments"], comment]}
        target = None
        if fields["author_role"] == "agent" and fields["public"]:
            if case["first_responded_at"] is None:
                changes["first_responded_at"] = now
            if case["status"] == CaseStatus.NEW:
                target = CaseStatus.OPEN.value
        elif fields["author_role"] == "end_user" and case["status"] in _REOPEN_ON_REQUESTER_REPLY:
            target = CaseStatus.OPEN.value
        updated = self._save(case, changes, target, None)
        self.emit("case.updated", updated)
        if target is not None:
            self.emit("case.status_changed", updated)
        return updated

    # -- Pact provider states ----------------------------------------------------------------

    @provider_state("an organization exists")
    def _state_organization(
        self,
        id: Id | None = None,
        name: Name = "Acme Corp",
        external_id: ExternalIdText | None = None,
    ) -> Obj:
        org = self.col("organization").find(id) or self.col("organization").first_by("name", name)
        if org is None:
            org = self.create_organization({"name": name, "external_id": external_id})
        if id is not None:
            org = self.with_id("organization", org, id)
        return {"organization_id": org["id"]}

    @provider_state("an organization with an active entitlement exists")
    def _state_entitled(
        self, id: Id | None = None, organization_id: Id | None = None,
        support_tier: SupportTier = "premium",
    ) -> Obj:  # fmt: skip
        org_id = self._state_organization(id=organization_id)["organization_id"]
        ent = self.col("entitlement").find(id)
        if ent is None and id is None:
            ent = self.entitlement_in_force(org_id)
        if ent is None:
            ent = self.create_entitlement(
                {"organization_id": org_id, "sku": "SUP-PRM", "support_tier": support_tier}
            )
        if id is not None:
            ent = self.with_id("entitlement", ent, id)
        return {"organization_id": org_id, "entitlement_id": ent["id"]}

    @provider_state("an open case exists")
    def _state_open_case(self, id: Id | None = None, organization_id: Id | None = None) -> Obj:
        ids = self._state_entitled(organization_id=organization_id)
        case = self.col("case").find(id)
        if case is None:
            case = self.create_case(
                {"organization_id": ids["organization_id"], "subject": "Help"}, case_id=id
            )
            case = self.add_comment(
                case["id"], {"author": "agent", "author_role": "agent", "body": "On it",
                             "public": True},
            )  # fmt: skip
        return {**ids, "case_id": case["id"]}

    @provider_state("an organization {organization_id} with external id {external_id} exists")
    def _state_linked_organization(
        self, organization_id: Id | None = None, external_id: ExternalId = "acc_pact",
        name: Name = "Acme Corp",
    ) -> Obj:  # fmt: skip
        """The organization linked to ``external_id`` (a CRM account)."""
        orgs = self.col("organization")
        org = orgs.find(organization_id) or (
            orgs.first_by("external_id", external_id) if organization_id is None else None
        )
        if org is None:
            org = self.create_organization({"name": self._free_name(name), "external_id": None})
            if organization_id is not None:
                org = self.with_id("organization", org, organization_id)
        if org["external_id"] != external_id:
            org = self.update("organization", org, {"external_id": external_id})
        return {"organization_id": org["id"]}

    def _free_name(self, name: str) -> str:
        """``name``, or ``name (2)`` ... when taken: organization names are unique."""
        taken, n, free = self.col("organization"), 1, name
        while taken.first_by("name", free) is not None:
            n += 1
            free = f"{name} ({n})"
        return free

    @provider_state(
        "an active entitlement {entitlement_id} for subscription {subscription_id} exists"
    )
    def _state_subscribed(
        self, entitlement_id: Id | None = None, subscription_id: Id = "sub_pact",
        organization_id: Id | None = None, end_date: BodyDate = "2091-01-01",
        sku: Sku = "PLAT-STD", support_tier: SupportTier = "standard",
    ) -> Obj:  # fmt: skip
        """An active entitlement of the organization for a billing subscription
        (``external_id`` = ``subscription_id``), in force until ``end_date``."""
        ents = self.col("entitlement")
        ent = ents.find(entitlement_id) or (
            ents.first_by("external_id", subscription_id) if entitlement_id is None else None
        )
        if ent is None:
            org_id = self._state_organization(id=organization_id)["organization_id"]
            ent = self.create_entitlement(
                {"organization_id": org_id, "sku": sku, "support_tier": support_tier,
                 "end_date": end_date}
            )  # fmt: skip
            if entitlement_id is not None:
                ent = self.with_id("entitlement", ent, entitlement_id)
        wanted = {"external_id": subscription_id, "subscription_id": subscription_id,
                  "status": EntitlementStatus.ACTIVE.value, "end_date": end_date}  # fmt: skip
        if any(ent.get(k) != v for k, v in wanted.items()):
            ent = self.update("entitlement", ent, wanted)
        return {"entitlement_id": ent["id"], "organization_id": ent["organization_id"]}


def _value(status: Any) -> str | None:
    return None if status is None else str(getattr(status, "value", status))
