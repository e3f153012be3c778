"""The billing clock's jobs: invoice runs at period boundaries, term renewals, dunning retries.

The scheduler (``kit/scheduler.py``) runs them at their due time: a period ending on
a date is billed at 00:00 UTC that day, a retry at its ``next_payment_attempt``. Each
job reads only what is due, from derived indexes of the store. The rules (retry
schedule, final action, renewal) are data in ``rules.py`` and the options.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from simulators.billing.invoicing import SUBSCRIPTION, InvoicingState, aware
from simulators.billing.rules import BILLING_FAILED, add_months, next_period_end, resolve_card
from simulators.kit.clock import format_instant, parse_instant
from simulators.kit.errors import SimError
from simulators.kit.scheduler import JobResult, JobSpec, day_start
from simulators.kit.state import Obj

__all__ = ["PERIOD_DUE", "RETRY_DUE", "CycleState", "period_due", "retry_due"]

PERIOD_DUE = "period_due"
RETRY_DUE = "retry_due"


def period_due(sub: Obj) -> str | None:
    """The date a subscription's period ends, while billing still has to act on it."""
    if sub["status"] == "canceled" or BILLING_FAILED in sub.get("flags", ()):
        return None
    end: str = sub["current_period_end"]
    return end


def retry_due(invoice: Obj) -> float | None:
    """When an open invoice's next payment attempt is due (epoch seconds)."""
    attempt = invoice.get("next_payment_attempt")
    if attempt is None or invoice["status"] != "open":
        return None
    return parse_instant(attempt).timestamp()


def _months_between(anchor: date, day: date) -> int:
    return (day.year - anchor.year) * 12 + day.month - anchor.month


class CycleState(InvoicingState):
    """Invoice runs, term renewals and dunning retries as jobs of the clock."""

    JOBS: ClassVar[tuple[JobSpec, ...]] = (
        JobSpec("invoice_run", due="next_period_due", run="run_invoice_job"),
        JobSpec("dunning", due="next_retry_due", run="run_dunning_job"),
    )

    # -- jobs ------------------------------------------------------------------------------

    def next_period_due(self) -> float | None:
        day = self.col("subscription").lowest(PERIOD_DUE)
        return None if day is None else day_start(day)

    def next_retry_due(self) -> float | None:
        due: float | None = self.col("invoice").lowest(RETRY_DUE)
        return due

    def run_invoice_job(self, at: datetime) -> JobResult:
        done, flagged = self._invoice_cycle(at)
        handled = sum(len(ids) for ids in done.values())
        return JobResult(handled, flagged)

    def run_dunning_job(self, at: datetime) -> JobResult:
        return JobResult(len(self.run_dunning(at)))

    # -- the invoice run -------------------------------------------------------------------

    def run_invoice_cycle(self, now: datetime | None = None) -> dict[str, list[str]]:
        """Bill every period that has ended by ``now`` and start the next; the clock's job.

        Trials that ended become active; each ended period gets its invoice (unless
        one exists), finalized and charged to the default card when the
        ``invoice_auto_advance`` option is on (Stripe's default); subscriptions set to
        cancel at period end are canceled, the others start their next period
        (``subscription.updated``), and at the end of each term of ``term_months`` renew
        (``subscription.renewed``) or, with the ``auto_renew`` option off, are canceled.
        A subscription whose period cannot be billed (its total past the money bound)
        is flagged ``billing_failed`` and left where it is until its items change.
        """
        return self._invoice_cycle(aware(now, self.clock.now()))[0]

    def _invoice_cycle(self, moment: datetime) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
        today = moment.date()
        done: dict[str, list[str]] = {
            "invoices": [], "periods": [], "renewed": [], "activated": [], "canceled": [],
            "flagged": [],
        }  # fmt: skip
        flagged: list[dict[str, str]] = []
        for sub in self.col("subscription").upto(PERIOD_DUE, today.isoformat()):
            try:
                self._cycle(sub["id"], moment, done)
            except SimError as exc:
                # Billing refuses the period before it writes anything for it (the
                # total is checked before the invoice exists): flag the subscription
                # rather than fail the run for everyone, or try it again every tick.
                self._flag(sub["id"], exc)
                done["flagged"].append(sub["id"])
                flagged.append({"id": sub["id"], "code": exc.code, "detail": exc.detail})
        return done, flagged

    def _flag(self, sub_id: str, exc: SimError) -> None:
        sub = self.col("subscription").get(sub_id)
        flags = [*sub.get("flags", ()), BILLING_FAILED]
        sub = self.update("subscription", sub, {"flags": flags})
        self.emit("subscription.updated", sub)

    def _cycle(self, sub_id: str, moment: datetime, done: dict[str, list[str]]) -> None:
        today, at = moment.date(), format_instant(moment)
        while True:
            sub = self.col("subscription").get(sub_id)
            end = date.fromisoformat(sub["current_period_end"])
            if sub["status"] == "canceled" or end > today:
                return
            if sub["status"] == "trialing" and not sub["cancel_at_period_end"]:
                sub = self.move(
                    "subscription", sub, SUBSCRIPTION, "active",
                    {"current_period_start": end.isoformat(),
                     "current_period_end": add_months(end, 1).isoformat()},
                )  # fmt: skip
                self.emit("subscription.activated", sub)
                done["activated"].append(sub_id)
                continue
            if (
                sub["status"] != "trialing"
                and self.invoice_for_period(sub, sub["current_period_start"]) is None
            ):
                done["invoices"].append(self._bill_period(sub, moment)["id"])
                sub = self.col("subscription").get(sub_id)
            anchor = date.fromisoformat(sub["trial_end"] or sub["start_date"])
            term_end = _months_between(anchor, end) % sub["term_months"] == 0
            renew = bool(self.options.get("auto_renew", True))
            if sub["cancel_at_period_end"] or (term_end and not renew):
                self.move_subscription(sub, "canceled", at)
                done["canceled"].append(sub_id)
                return
            sub = self.update(
                "subscription", sub,
                {"current_period_start": end.isoformat(),
                 "current_period_end": next_period_end(anchor, end).isoformat()},
            )  # fmt: skip
            done["periods"].append(sub_id)
            if term_end:
                # Zuora's termed subscription with auto-renew: a new term starts.
                self.emit("subscription.renewed", sub)
                done["renewed"].append(sub_id)
            else:
                self.emit("subscription.updated", sub)

    def _bill_period(self, sub: Obj, now: datetime) -> Obj:
        invoice = self.build_invoice(sub)
        if not self.options.get("invoice_auto_advance", True):
            return invoice
        invoice = self.finalize_invoice(invoice["id"])
        customer = self.col("billing_customer").find(sub["customer_id"]) or {}
        method = customer.get("payment_method")
        # Stripe keeps invoicing an unpaid subscription but stops charging it.
        chargeable = sub["status"] != "unpaid" and resolve_card(method or "") is not None
        if invoice["status"] == "open" and method is not None and chargeable:
            invoice, _ = self._attempt(invoice, method, now)
        return invoice

    # -- dunning ---------------------------------------------------------------------------

    def run_dunning(self, now: datetime | None = None) -> list[str]:
        """Retry every open invoice whose ``next_payment_attempt`` has come; the clock's job.

        Returns the ids of the invoices retried. A customer left without a usable
        payment method counts as a failed attempt, with no Payment object.
        """
        at = aware(now, self.clock.now())
        due = self.col("invoice").upto(RETRY_DUE, at.timestamp())
        for invoice in due:
            customer: dict[str, Any] = (
                self.col("billing_customer").find(invoice["customer_id"]) or {}
            )
            method = customer.get("payment_method")
            if method is not None and resolve_card(method) is not None:
                self._attempt(invoice, method, at)
            else:
                self._record_failure(invoice, at)
        return [invoice["id"] for invoice in due]
