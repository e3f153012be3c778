"""Billing objects and rules: customers, subscriptions and their periods, usage, the invoice cycle.

The money side (invoices, payments, dunning, credit notes) is in ``invoicing.py``;
this class adds the objects invoices are computed from and the clock's hooks.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, ClassVar

from lifecycle.entities._base import CurrencyCode
from simulators.billing import pact_states
from simulators.billing.cycle import PERIOD_DUE, RETRY_DUE, CycleState, period_due, retry_due
from simulators.billing.errors import CardError
from simulators.billing.invoicing import INVOICE_NUMBERS, SUBSCRIPTION
from simulators.billing.models import PaymentMethod
from simulators.billing.rules import BILLING_FAILED, add_months, resolve_card
from simulators.kit.bodies import (
    ExternalId,
    check_currency,
    check_money_total,
    check_quantity_total,
)
from simulators.kit.clock import format_instant
from simulators.kit.errors import Conflict, Invalid
from simulators.kit.params import Id
from simulators.kit.state import Obj, Versions, check_move, provider_state
from simulators.kit.store import CollectionSpec

__all__ = ["BillingState"]

_INVOICE_NUMBER = re.compile(r"[A-Za-z0-9_./-]{1,64}")


def _drop_nulls(change: dict[str, Any]) -> dict[str, Any]:
    """In an item change (not a PATCH of the item itself) null means "not given"."""
    return {k: v for k, v in change.items() if v is not None}


def _check_items_total(items: list[dict[str, Any]]) -> None:
    """A period's fixed charges stay within the money bound (usage is billed as used)."""
    check_money_total(
        sum(i["quantity"] * i["unit_amount_minor"] for i in items if not i["usage_based"]),
        "items",
    )


class BillingState(CycleState):
    SYSTEM = "billing"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (
        CollectionSpec(
            "billing_customer", indexed=("external_id", "crm_account_id"), label="customer"
        ),
        CollectionSpec(
            "subscription",
            indexed=("external_id", "customer_id", "status"),
            references={"customer_id": "billing_customer"},
            derived={PERIOD_DUE: period_due},
        ),
        CollectionSpec(
            "usage_record",
            indexed=("external_id", "subscription_id", "subscription_item_id"),
            references={"subscription_id": "subscription"},
        ),
        CollectionSpec(
            "invoice",
            indexed=("external_id", "customer_id", "subscription_id", "status"),
            references={"customer_id": "billing_customer", "subscription_id": "subscription"},
            derived={RETRY_DUE: retry_due},
        ),
        CollectionSpec(
            "payment",
            indexed=("external_id", "invoice_id", "customer_id"),
            references={"invoice_id": "invoice", "customer_id": "billing_customer"},
        ),
        CollectionSpec(
            "credit_note",
            indexed=("external_id", "invoice_id"),
            references={"invoice_id": "invoice"},
        ),
    )

    # -- control plane ---------------------------------------------------------------------

    def seed_problems(self, object_type: str, obj: Obj) -> list[tuple[str, str]]:
        # after_seed reads the digits after an invoice number's last "-" to go on from.
        if object_type == "invoice" and not _INVOICE_NUMBER.fullmatch(obj["number"]):
            return [("number", "1 to 64 of A-Z a-z 0-9 - _ . / (as INV-000042)")]
        return []

    def after_seed(self, loaded: list[tuple[str, Obj]]) -> None:
        # Numbers go on from the highest seeded one, so INV- numbers stay unique.
        for object_type, invoice in loaded:
            tail = invoice["number"].rpartition("-")[2] if object_type == "invoice" else ""
            if tail.isascii() and tail.isdigit():
                self.store.raise_counter(INVOICE_NUMBERS, int(tail))

    # -- customers -------------------------------------------------------------------------

    def _check_card(self, payment_method: str | None) -> None:
        if payment_method is None:
            return
        card = resolve_card(payment_method)
        if card is None:
            raise Invalid(
                "unknown_test_card",
                f"{payment_method!r} is not a test card; test mode takes Stripe's test cards",
                [{"field": "payment_method", "message": "use e.g. 4242424242424242"}],
            )
        if card.attach_error is not None:
            # Stripe checks a card when it is attached: declining cards never get saved,
            # except 4000000000000341, which attaches and then fails every charge.
            raise CardError(
                card.attach_error,
                f"the card was declined when attached ({card.attach_error})",
                [{"field": "payment_method", "message": card.attach_error}],
            )

    def create_customer(self, fields: dict[str, Any]) -> Obj:
        check_currency(fields["currency"])
        self._check_card(fields.get("payment_method"))
        customer = self.new("billing_customer", fields)
        self.emit("customer.created", customer)
        return customer

    def update_customer(
        self, customer_id: str, changes: dict[str, Any], version: Versions | None
    ) -> Obj:
        customer = self.col("billing_customer").get(customer_id)
        self._check_card(changes.get("payment_method"))
        customer = self.update("billing_customer", customer, changes, version)
        self.emit("customer.updated", customer)
        return customer

    # -- subscriptions ---------------------------------------------------------------------

    def _item_id(self) -> str:
        return self.rt.ids.new("subscription_item")

    def create_subscription(self, fields: dict[str, Any]) -> Obj:
        customer = self.col("billing_customer").find(fields["customer_id"])
        if customer is None:
            raise Invalid(
                "unknown_customer",
                f"no customer with id {fields['customer_id']!r}",
                [{"field": "customer_id", "message": "unknown customer"}],
            )
        currency = fields.pop("currency") or customer["currency"]
        if currency != customer["currency"]:
            # Stripe bills a customer in one currency: a subscription in another is refused.
            raise Invalid(
                "currency_mismatch",
                f"customer {customer['id']} is billed in {customer['currency']}, not {currency}",
                [{"field": "currency", "message": f"must be {customer['currency']}"}],
            )
        _check_items_total(fields["items"])
        start = date.fromisoformat(fields.pop("start_date") or self.today())
        trial_days = fields.pop("trial_days")
        trial_end = start + timedelta(days=trial_days) if trial_days else None
        subscription = self.new(
            "subscription",
            {
                **fields,
                "status": "trialing" if trial_end else "active",
                "currency": currency,
                "items": [{"id": self._item_id(), **item} for item in fields["items"]],
                "start_date": start.isoformat(),
                "current_period_start": start.isoformat(),
                "current_period_end": (trial_end or add_months(start, 1)).isoformat(),
                "trial_end": trial_end.isoformat() if trial_end else None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "flags": [],
            },
        )
        self.emit("subscription.created", subscription)
        return subscription

    def require_subscription(self, subscription_id: str) -> Obj:
        """The subscription a body names; 422 ``unknown_subscription`` if there is none."""
        sub = self.col("subscription").find(subscription_id)
        if sub is None:
            raise Invalid(
                "unknown_subscription",
                f"no subscription with id {subscription_id!r}",
                [{"field": "subscription_id", "message": "unknown subscription"}],
            )
        return sub

    def _require_live(self, sub: Obj) -> None:
        if sub["status"] == "canceled":
            raise Conflict(
                "subscription_canceled",
                f"{sub['id']} is canceled and cannot change",
                [{"field": "status", "message": "canceled is final"}],
            )

    def _apply_item_changes(self, items: list[Obj], changes: list[dict[str, Any]]) -> list[Obj]:
        """Stripe's items[] update: with an id change or delete it; without, add one."""
        result = [dict(item) for item in items]
        for n, change in enumerate(changes):
            change = _drop_nulls(change)
            item_id = change.pop("id", None)
            deleted = change.pop("deleted", False)
            if item_id is None:
                if deleted or "sku" not in change or "unit_amount_minor" not in change:
                    raise Invalid(
                        "item_incomplete",
                        "a new item needs sku and unit_amount_minor (and no deleted flag)",
                        [{"field": f"items.{n}", "message": "sku and unit_amount_minor"}],
                    )
                result.append(
                    {"id": self._item_id(), "quantity": 1, "usage_based": False, **change}
                )
                continue
            position = next((i for i, it in enumerate(result) if it["id"] == item_id), None)
            if position is None:
                raise Invalid(
                    "unknown_item",
                    f"the subscription has no item {item_id!r}",
                    [{"field": f"items.{n}.id", "message": "unknown item"}],
                )
            if deleted:
                del result[position]
            else:
                result[position].update(change)
        if not result:
            raise Invalid(
                "items_required",
                "a subscription needs at least one item",
                [{"field": "items", "message": "cannot delete every item"}],
            )
        _check_items_total(result)
        return result

    def update_subscription(
        self, subscription_id: str, changes: dict[str, Any], version: Versions | None
    ) -> Obj:
        sub = self.col("subscription").get(subscription_id)
        self._require_live(sub)
        if "items" in changes:
            changes["items"] = self._apply_item_changes(sub["items"], changes["items"])
            if BILLING_FAILED in sub.get("flags", ()):
                # New items: the invoice run may try the period it could not bill again.
                changes["flags"] = [f for f in sub["flags"] if f != BILLING_FAILED]
        if changes.pop("trial_end", None) is None:
            sub = self.update("subscription", sub, changes, version)
            self.emit("subscription.updated", sub)
            return sub
        if sub["status"] != "trialing":
            raise Conflict(
                "not_trialing",
                f"{subscription_id} is {sub['status']}, not trialing",
                [{"field": "trial_end", "message": "only a trial can be ended"}],
            )
        # trial_end=now (Stripe): the trial stops today and the first paid period starts.
        today = date.fromisoformat(self.today())
        changes |= {
            "trial_end": today.isoformat(),
            "current_period_start": today.isoformat(),
            "current_period_end": add_months(today, 1).isoformat(),
        }
        sub = self.move(
            "subscription", sub, SUBSCRIPTION, "active", changes, expected_version=version
        )
        self.emit("subscription.updated", sub)
        self.emit("subscription.activated", sub)
        return sub

    def cancel_subscription(self, subscription_id: str, at_period_end: bool) -> Obj:
        sub = self.col("subscription").get(subscription_id)
        check_move(sub, SUBSCRIPTION, "canceled")
        if at_period_end:
            sub = self.update("subscription", sub, {"cancel_at_period_end": True})
            self.emit("subscription.updated", sub)
            return sub
        canceled = self.move_subscription(sub, "canceled")
        assert canceled is not None
        return canceled

    # -- usage -----------------------------------------------------------------------------

    def record_usage(self, subscription_id: str, fields: dict[str, Any]) -> Obj:
        sub = self.col("subscription").get(subscription_id)
        self._require_live(sub)
        item = next((i for i in sub["items"] if i["id"] == fields["subscription_item_id"]), None)
        if item is None:
            raise Invalid(
                "unknown_item",
                f"{subscription_id} has no item {fields['subscription_item_id']!r}",
                [{"field": "subscription_item_id", "message": "unknown item"}],
            )
        if not item["usage_based"]:
            raise Invalid(
                "not_usage_item",
                f"item {item['id']} ({item['sku']}) is billed by quantity, not by usage",
                [{"field": "subscription_item_id", "message": "not a usage-based item"}],
            )
        moment = fields.pop("timestamp", None)
        timestamp = self.now() if moment is None else format_instant(moment)
        start, end = sub["current_period_start"], sub["current_period_end"]
        if not start <= timestamp[:10] < end:
            # Stripe takes usage for the current billing period only.
            raise Invalid(
                "usage_outside_period",
                f"{timestamp} is outside the current period {start} to {end}",
                [{"field": "timestamp", "message": f"within [{start}, {end})"}],
            )
        invoice = self.invoice_for_period(sub, start)
        if invoice is not None:
            # Zuora refuses usage for a period already billed; it would never be invoiced.
            raise Conflict(
                "period_already_invoiced",
                f"the period {start} to {end} is already on {invoice['id']}",
                [
                    {
                        "field": "timestamp",
                        "message": "period already invoiced",
                        "existing_id": invoice["id"],
                    }
                ],
            )
        # The period's usage is one invoice line: its quantity and its amount, with the
        # fixed charges beside it, must stay within the bounds an invoice can carry.
        used = self._usage_in(item["id"], start, end) + fields["quantity"]
        check_quantity_total(used, "quantity")
        fixed = sum(
            i["quantity"] * i["unit_amount_minor"] for i in sub["items"] if not i["usage_based"]
        )
        usage = sum(
            self._usage_in(i["id"], start, end) * i["unit_amount_minor"]
            for i in sub["items"]
            if i["usage_based"] and i["id"] != item["id"]
        )
        check_money_total(fixed + usage + used * item["unit_amount_minor"], "quantity")
        record = self.new(
            "usage_record", {**fields, "subscription_id": subscription_id, "timestamp": timestamp}
        )
        self.emit("usage_record.created", record)
        return record

    # -- invoices from subscriptions -------------------------------------------------------

    def invoice_subscription(self, subscription_id: str, fields: dict[str, Any]) -> Obj:
        """The invoice run for one subscription's current period (a draft invoice)."""
        sub = self.col("subscription").get(subscription_id)
        self._require_live(sub)
        if sub["status"] == "trialing":
            raise Conflict(
                "subscription_trialing",
                f"{subscription_id} is in its trial until {sub['trial_end']}; nothing to bill",
                [{"field": "status", "message": "trialing"}],
            )
        return self.build_invoice(sub, fields.get("tax_rate_bps"), fields.get("external_id"))

    # -- Pact provider states --------------------------------------------------------------

    @provider_state("a customer exists")
    def _state_customer(
        self,
        id: Id | None = None,
        currency: CurrencyCode = "USD",
        payment_method: PaymentMethod | None = "4242424242424242",
    ) -> Obj:
        existing = self.col("billing_customer").find(id)
        if existing is not None:
            return {"customer_id": existing["id"]}
        customer = self.create_customer(
            {
                "name": "Acme Corp",
                "email": "billing@acme.test",
                "currency": currency,
                "crm_account_id": None,
                "external_id": None,
                "payment_method": payment_method,
            }
        )
        if id is not None:
            customer = self.with_id("billing_customer", customer, id)
        return {"customer_id": customer["id"]}

    @provider_state("an active subscription exists")
    def _state_subscription(
        self,
        id: Id | None = None,
        customer_id: Id | None = None,
        payment_method: PaymentMethod | None = "4242424242424242",
    ) -> Obj:
        existing = self.col("subscription").find(id)
        if existing is not None:
            return {
                "subscription_id": existing["id"],
                "customer_id": existing["customer_id"],
                "item_ids": [item["id"] for item in existing["items"]],
            }
        customer = self._state_customer(id=customer_id, payment_method=payment_method)
        sub = self.create_subscription(
            {
                "customer_id": customer["customer_id"],
                "currency": None,
                "external_id": None,
                "quote_id": None,
                "term_months": 12,
                "start_date": None,
                "trial_days": 0,
                "items": [
                    {
                        "sku": "PLAT-PRO",
                        "quantity": 10,
                        "unit_amount_minor": 5_000,
                        "usage_based": False,
                    },
                    {
                        "sku": "API-CALLS",
                        "quantity": 0,
                        "unit_amount_minor": 2,
                        "usage_based": True,
                    },
                ],
            }
        )
        if id is not None:
            sub = self.with_id("subscription", sub, id)
        return {
            "subscription_id": sub["id"],
            "customer_id": customer["customer_id"],
            "item_ids": [item["id"] for item in sub["items"]],
        }

    @provider_state("an open invoice exists")
    def _state_open_invoice(
        self,
        id: Id | None = None,
        subscription_id: Id | None = None,
        customer_id: Id | None = None,
    ) -> Obj:
        ids = self._state_subscription(id=subscription_id, customer_id=customer_id)
        existing = self.col("invoice").find(id)
        if existing is not None:
            return {**ids, "invoice_id": existing["id"]}
        invoice = self.build_invoice(self.col("subscription").get(ids["subscription_id"]))
        invoice = self.finalize_invoice(invoice["id"])
        if id is not None:
            invoice = self.with_id("invoice", invoice, id)
        return {**ids, "invoice_id": invoice["id"]}

    @provider_state("a past due subscription exists")
    def _state_past_due(self, id: Id | None = None, customer_id: Id | None = None) -> Obj:
        # 4000000000000341 attaches, then declines every charge (Stripe's dunning card).
        ids = self._state_subscription(
            id=id, customer_id=customer_id, payment_method="4000000000000341"
        )
        sub = self.col("subscription").get(ids["subscription_id"])
        failing = self.invoice_for_period(sub, sub["current_period_start"])
        if failing is not None:
            return {**ids, "invoice_id": failing["id"]}
        invoice = self.build_invoice(self.col("subscription").get(ids["subscription_id"]))
        invoice, _ = self.pay_invoice(self.finalize_invoice(invoice["id"])["id"])
        return {**ids, "invoice_id": invoice["id"]}

    # Parametrised states: the logic is in pact_states.py (docs/provider-states.md).

    @provider_state("a billing customer {customer_id} with external id {external_id} exists")
    def _state_linked_customer(
        self, customer_id: Id | None = None, external_id: ExternalId = "acc_pact",
        currency: CurrencyCode = "USD",
    ) -> Obj:  # fmt: skip
        return pact_states.linked_customer(self, customer_id, external_id, currency)

    @provider_state("a subscription {subscription_id} for deal {external_id} exists")
    def _state_deal_subscription(
        self, subscription_id: Id | None = None, external_id: ExternalId = "opp_pact",
        customer_id: Id | None = None,
    ) -> Obj:  # fmt: skip
        return pact_states.deal_subscription(self, subscription_id, external_id, customer_id)

    @provider_state("an invoice {invoice_id} was finalized")
    def _state_finalized(
        self, invoice_id: Id | None = None, subscription_id: Id | None = None,
        external_id: ExternalId = "opp_pact",
    ) -> Obj:  # fmt: skip
        return pact_states.finalized_invoice(self, invoice_id, subscription_id, external_id)

    @provider_state("a payment of invoice {invoice_id} succeeded")
    def _state_paid(
        self, invoice_id: Id | None = None, subscription_id: Id | None = None,
        external_id: ExternalId = "opp_pact",
    ) -> Obj:  # fmt: skip
        return pact_states.paid_invoice(self, invoice_id, subscription_id, external_id)

    @provider_state("a subscription {subscription_id} was canceled")
    def _state_canceled(
        self, subscription_id: Id | None = None, external_id: ExternalId = "opp_pact",
        customer_id: Id | None = None,
    ) -> Obj:  # fmt: skip
        return pact_states.canceled_subscription(self, subscription_id, external_id, customer_id)

    @provider_state("a subscription {subscription_id} was renewed")
    def _state_renewed(
        self, subscription_id: Id | None = None, external_id: ExternalId = "opp_pact",
        customer_id: Id | None = None,
    ) -> Obj:  # fmt: skip
        return pact_states.renewed_subscription(self, subscription_id, external_id, customer_id)
