"""The ERP's general ledger: chart of accounts, legal entities, periods and postings.

Every posting the ERP makes goes through ``LedgerState.post``, which refuses an
entry that does not balance or that falls into a closed period, so the ledger's
invariants hold by construction rather than by each caller's care.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from lifecycle.legal_entities import LEGAL_ENTITIES, LegalEntity
from lifecycle.states import MACHINES, StateMachine
from simulators.erp.models import PERIOD_PATTERN
from simulators.kit.bodies import check_currency
from simulators.kit.errors import Conflict, Invalid, NotFound
from simulators.kit.state import Obj, SystemState

__all__ = [
    "ACCOUNTS",
    "AR_ACCOUNT",
    "CASH_ACCOUNT",
    "LEGAL_ENTITIES",
    "PERIOD",
    "REVENUE_ACCOUNT",
    "TAX_ACCOUNT",
    "UNAPPLIED_ACCOUNT",
    "Account",
    "LedgerState",
    "LegalEntity",
    "check_account",
    "check_balanced",
    "check_legal_entity",
    "check_period_name",
    "period_id",
    "period_of",
]


@dataclass(frozen=True, slots=True)
class Account:
    number: str
    name: str
    kind: str  # asset | liability | equity | revenue | expense


# A small chart of accounts, numbered as NetSuite's default US GAAP template numbers them.
ACCOUNTS: dict[str, Account] = {
    a.number: a
    for a in (
        Account("1000", "Cash", "asset"),
        Account("1200", "Accounts receivable", "asset"),
        Account("1300", "Prepaid expenses", "asset"),
        Account("2000", "Accounts payable", "liability"),
        Account("2200", "Sales tax payable", "liability"),
        Account("2400", "Unapplied customer payments", "liability"),
        Account("2500", "Deferred revenue", "liability"),
        Account("3000", "Retained earnings", "equity"),
        Account("4000", "Subscription revenue", "revenue"),
        Account("4100", "Professional services revenue", "revenue"),
        Account("4200", "Usage revenue", "revenue"),
        Account("5000", "Cost of revenue", "expense"),
        Account("6000", "Operating expenses", "expense"),
    )
}
CASH_ACCOUNT, AR_ACCOUNT, TAX_ACCOUNT = "1000", "1200", "2200"
UNAPPLIED_ACCOUNT, REVENUE_ACCOUNT = "2400", "4000"

# Accounting periods: closing locks a month against postings; a controller may reopen
# it (NetSuite's period close checklist, S/4's posting period variant).
PERIOD = MACHINES["accounting_period"]


def period_of(day: str) -> str:
    """The period name (``YYYY-MM``) an ISO date falls into."""
    return day[:7]


def period_id(name: str) -> str:
    """``per_2026_03`` for ``2026-03``: period ids are their names, so pacts can name them."""
    return "per_" + name.replace("-", "_")


_PERIOD_NAME = re.compile(PERIOD_PATTERN)


def check_period_name(name: str) -> str:
    if not _PERIOD_NAME.match(name):
        raise Invalid(
            "invalid_period",
            f"{name!r} is not a period name",
            [{"field": "name", "message": "YYYY-MM, 2000-01 to 2100-12"}],
        )
    return name


def check_balanced(lines: list[Obj]) -> None:
    """422 ``unbalanced_entry`` unless the debits equal the credits."""
    debits = sum(line["debit_minor"] for line in lines)
    credits = sum(line["credit_minor"] for line in lines)
    if debits != credits:
        raise Invalid(
            "unbalanced_entry",
            f"debits {debits} and credits {credits} differ by {debits - credits}",
            [{"field": "lines", "message": "the sum of debits must equal the sum of credits"}],
        )


def check_legal_entity(code: str, field: str = "legal_entity") -> LegalEntity:
    entity = LEGAL_ENTITIES.get(code)
    if entity is None:
        raise Invalid(
            "unknown_legal_entity",
            f"no legal entity {code!r}",
            [{"field": field, "message": f"one of {sorted(LEGAL_ENTITIES)}"}],
        )
    return entity


def check_account(number: str, field: str, kinds: tuple[str, ...] = ()) -> Account:
    account = ACCOUNTS.get(number)
    if account is None or (kinds and account.kind not in kinds):
        allowed = sorted(n for n, a in ACCOUNTS.items() if not kinds or a.kind in kinds)
        raise Invalid(
            "unknown_account",
            f"{number!r} is not a{' ' + '/'.join(kinds) if kinds else 'n'} account "
            "of the chart of accounts",
            [{"field": field, "message": f"one of {allowed}"}],
        )
    return account


class LedgerState(SystemState):
    """Periods, journal entries and the trial balance; the ERP state builds on it."""

    PERIOD_MACHINE: ClassVar[StateMachine] = PERIOD

    # -- periods -----------------------------------------------------------------------------

    def find_period(self, name: str) -> Obj | None:
        return self.col("accounting_period").first_by("name", name)

    def get_period(self, name: str) -> Obj:
        period = self.find_period(name)
        if period is None:
            raise NotFound("not_found", f"no accounting period {name!r}: nothing posted to it yet")
        return period

    def _period(self, name: str) -> Obj:
        """The period called ``name``, opened on first use."""
        period = self.find_period(name)
        if period is None:
            period = self.new(
                "accounting_period",
                {"id": period_id(name), "name": name, "status": "open", "closed_at": None},
            )
        return period

    def require_open(self, day: str, field: str = "posting_date") -> str:
        """The period of ``day``; 409 ``period_closed`` when it is closed."""
        name = period_of(day)
        period = self.find_period(name)
        if period is not None and period["status"] == "closed":
            raise Conflict(
                "period_closed",
                f"period {name} is closed; nothing can be posted into it",
                [{"field": field, "message": f"{day} falls in closed period {name}"}],
            )
        return name

    def close_period(self, name: str) -> Obj:
        """Close a period (opening it first if nothing was posted to it yet).

        A clock-driven month-end close can call this for the month just ended.
        """
        period = self._period(name)
        period = self.move("accounting_period", period, PERIOD, "closed", {"closed_at": self.now()})
        self.emit("period.closed", period)
        return period

    def reopen_period(self, name: str) -> Obj:
        period = self.move(
            "accounting_period", self.get_period(name), PERIOD, "open", {"closed_at": None}
        )
        self.emit("period.reopened", period)
        return period

    # -- postings ----------------------------------------------------------------------------

    def post(
        self,
        *,
        legal_entity: str,
        posting_date: str,
        currency: str,
        lines: list[Obj],
        memo: str | None = None,
        source_type: str | None = None,
        source_id: str | None = None,
        external_id: str | None = None,
    ) -> Obj | None:
        """Write one balanced journal entry into an open period; None if every line is zero."""
        check_balanced(lines)
        period = self.require_open(posting_date)
        kept = [line for line in lines if line["debit_minor"] or line["credit_minor"]]
        if not kept:
            return None
        self._period(period)
        entry = self.new(
            "journal_entry",
            {"external_id": external_id, "legal_entity": legal_entity,
             "posting_date": posting_date, "period": period, "currency": currency,
             "memo": memo, "source_type": source_type, "source_id": source_id,
             "lines": kept},
        )  # fmt: skip
        self.emit("journal_entry.posted", entry)
        return entry

    def create_manual_entry(self, fields: dict[str, Any]) -> Obj:
        """A journal entry keyed in by hand (or by the middleware), checked like any other."""
        check_legal_entity(fields["legal_entity"])
        check_currency(fields["currency"])
        self.col("journal_entry").check_unique({"external_id": fields.get("external_id")})
        for index, line in enumerate(fields["lines"]):
            check_account(line["account"], f"lines.{index}.account")
            if bool(line["debit_minor"]) == bool(line["credit_minor"]):
                # NetSuite: each line carries a debit or a credit, never both or neither.
                raise Invalid(
                    "invalid_journal_line",
                    f"line {index} must have either a debit or a credit",
                    [{"field": f"lines.{index}", "message": "exactly one of debit or credit"}],
                )
        posting_date = fields.get("posting_date") or self.today()
        entry = self.post(
            legal_entity=fields["legal_entity"],
            posting_date=posting_date,
            currency=fields["currency"],
            lines=fields["lines"],
            memo=fields.get("memo"),
            source_type="manual",
            external_id=fields.get("external_id"),
        )
        assert entry is not None  # lines are one-sided and positive, so some remain
        return entry

    def reverse(self, entry: Obj, posting_date: str, memo: str) -> Obj | None:
        """A reversing entry (debits and credits swapped) for ``entry``."""
        lines = [
            {"account": line["account"], "debit_minor": line["credit_minor"],
             "credit_minor": line["debit_minor"]}
            for line in entry["lines"]
        ]  # fmt: skip
        return self.post(
            legal_entity=entry["legal_entity"],
            posting_date=posting_date,
            currency=entry["currency"],
            lines=lines,
            memo=memo,
            source_type=entry["source_type"],
            source_id=entry["source_id"],
        )

    # -- reports -----------------------------------------------------------------------------

    def trial_balance(self, period: str | None = None, legal_entity: str | None = None) -> Obj:
        """Debits and credits per account, per legal entity and currency; totals that agree."""
        sums: dict[tuple[str, str, str], list[int]] = {}
        for entry in self.col("journal_entry"):
            if period is not None and entry["period"] != period:
                continue
            if legal_entity is not None and entry["legal_entity"] != legal_entity:
                continue
            for line in entry["lines"]:
                key = (entry["legal_entity"], entry["currency"], line["account"])
                acc = sums.setdefault(key, [0, 0])
                acc[0] += line["debit_minor"]
                acc[1] += line["credit_minor"]
        accounts = []
        totals: dict[tuple[str, str], list[int]] = {}
        for (entity, currency, number), (debit, credit) in sorted(sums.items()):
            account = ACCOUNTS.get(number)
            accounts.append({
                "legal_entity": entity, "currency": currency, "account": number,
                "account_name": account.name if account else number,
                "debit_minor": debit, "credit_minor": credit, "balance_minor": debit - credit,
            })  # fmt: skip
            total = totals.setdefault((entity, currency), [0, 0])
            total[0] += debit
            total[1] += credit
        total_rows = [
            {"legal_entity": entity, "currency": currency, "debit_minor": d, "credit_minor": c,
             "balanced": d == c}
            for (entity, currency), (d, c) in sorted(totals.items())
        ]  # fmt: skip
        return {
            "period": period,
            "legal_entity": legal_entity,
            "accounts": accounts,
            "totals": total_rows,
            "balanced": all(row["balanced"] for row in total_rows),
        }
