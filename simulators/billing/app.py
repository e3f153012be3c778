"""Billing simulator: a Stripe/Zuora-like customer, subscription, usage and invoice API.

Faithful to: Stripe's subscription statuses (trialing, active, past_due, unpaid,
canceled) and invoice statuses (draft → open → paid | void | uncollectible, an
uncollectible invoice can still be paid or voided); Stripe's test cards with
deterministic outcomes (4242424242424242 succeeds, 4000000000000002 declines,
4000000000009995 insufficient_funds, 4000000000000069 expired_card,
4000000000000341 attaches then fails every charge, ``pm_card_*`` ids too), card
errors answered with 402 and the decline code; declining cards refused when saved
on a customer; a custom retry schedule (3, 5, 7 days) after which the subscription
becomes unpaid (or canceled, option ``dunning_final_action``) and the invoice
uncollectible; a paid invoice bringing a past_due subscription back to active;
zero-total invoices paid on finalization; credit notes on open or paid invoices
only, an open invoice credited in full becoming paid; monthly periods counted from
the billing-cycle anchor with the day clamped to the month's end; usage taken for
the current period only; one invoice per subscription and period (Zuora bill runs).

LIMITATIONS: the recurring and usage charges of a period are billed together when
the period is invoiced (bill in arrears, Zuora-style), not licensed-in-advance as
Stripe does; no proration on item changes or cancellation; trial periods are not
invoiced; at the end of each term of ``term_months`` a subscription renews for
another term (``auto_renew`` off: it is canceled); one payment method per
customer, no partial payments, refunds or customer balance (a credit note on a
paid invoice only records the credit); tax is one flat rate (``tax_rate_bps``);
no Stripe-shaped URLs (``/v1/...``). Invoice runs and dunning retries are jobs of
the clock (``cycle.py``, docs/control-plane.md); ``POST /subscriptions/{id}/invoices``
and ``POST /invoices/{id}/retry-payment`` do the same by hand.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from starlette.responses import Response

from lifecycle.entities.billing import (
    BillingCustomer,
    CreditNote,
    Invoice,
    Payment,
    Subscription,
    UsageRecord,
)
from lifecycle.states import InvoiceStatus, SubscriptionStatus
from simulators.billing.errors import CardError
from simulators.billing.models import (
    CancelRequest,
    CreditNoteCreate,
    CustomerCreate,
    CustomerUpdate,
    InvoiceRun,
    PayRequest,
    SubscriptionCreate,
    SubscriptionUpdate,
    UsageRecordCreate,
    UsageRecordInput,
)
from simulators.billing.state import BillingState
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

__all__ = ["create_app"]

_GET = problem_responses(404)
_LIST = problem_responses(422)
_CREATE = problem_responses(422)
_PATCH = problem_responses(404, 409, 412, 422)
_MOVE = problem_responses(404, 409)
_CHILD = problem_responses(404, 409, 422)
_PAY = problem_responses(402, 404, 409, 422)


def _paid_or_declined(invoice: dict[str, Any], payment: dict[str, Any]) -> Response:
    if payment["status"] == "succeeded":
        return object_response(invoice)
    # As Stripe: a declined charge is a 402 card error; the failed Payment is stored
    # and the dunning schedule has moved on (see the invoice's next_payment_attempt):
    # this refusal commits what the attempt wrote.
    raise CardError(
        payment["failure_code"],
        f"payment {payment['id']} for {invoice['number']} failed: {payment['failure_code']}",
        [
            {
                "field": "payment_method",
                "message": payment["failure_code"],
                "payment_id": payment["id"],
                "invoice_id": invoice["id"],
                "next_payment_attempt": invoice["next_payment_attempt"],
            }
        ],
        commits=True,
    )


def _routes(state: BillingState) -> APIRouter:
    r = APIRouter(tags=["billing"], route_class=SimRoute)
    customers, subs = state.col("billing_customer"), state.col("subscription")
    usage, invoices = state.col("usage_record"), state.col("invoice")
    payments, notes = state.col("payment"), state.col("credit_note")

    # -- customers -------------------------------------------------------------------------

    @r.post(
        "/customers",
        status_code=201,
        response_model=BillingCustomer,
        responses=problem_responses(402, 422),
    )
    async def create_customer(body: CustomerCreate) -> Response:
        return object_response(state.create_customer(body.model_dump()), 201)

    @r.get("/customers", response_model=ListOf(BillingCustomer), responses=_LIST)
    async def list_customers(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        external_id: Filter = None,
        crm_account_id: IdFilter = None,
    ) -> Response:
        return filtered_page(
            customers, limit, cursor, external_id=external_id, crm_account_id=crm_account_id
        )

    @r.get("/customers/{customer_id}", response_model=BillingCustomer, responses=_GET)
    async def get_customer(customer_id: str) -> Response:
        return object_response(customers.get(customer_id))

    @r.patch(
        "/customers/{customer_id}",
        response_model=BillingCustomer,
        responses=problem_responses(402, 404, 409, 412, 422),
    )
    async def update_customer(
        customer_id: str,
        body: CustomerUpdate,
        if_match: str | None = IF_MATCH,
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_customer(customer_id, changes, expected_version(if_match))
        )

    # -- subscriptions ---------------------------------------------------------------------

    @r.post("/subscriptions", status_code=201, response_model=Subscription, responses=_CREATE)
    async def create_subscription(body: SubscriptionCreate) -> Response:
        return object_response(state.create_subscription(body.model_dump(mode="json")), 201)

    @r.get("/subscriptions", response_model=ListOf(Subscription), responses=_LIST)
    async def list_subscriptions(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        customer_id: IdFilter = None,
        status: SubscriptionStatus | None = None,
        quote_id: IdFilter = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(
            subs,
            limit,
            cursor,
            customer_id=customer_id,
            quote_id=quote_id,
            status=status,
            external_id=external_id,
        )

    @r.get("/subscriptions/{subscription_id}", response_model=Subscription, responses=_GET)
    async def get_subscription(subscription_id: str) -> Response:
        return object_response(subs.get(subscription_id))

    @r.patch("/subscriptions/{subscription_id}", response_model=Subscription, responses=_PATCH)
    async def update_subscription(
        subscription_id: str,
        body: SubscriptionUpdate,
        if_match: str | None = IF_MATCH,
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_subscription(subscription_id, changes, expected_version(if_match))
        )

    @r.post("/subscriptions/{subscription_id}/cancel", response_model=Subscription, responses=_MOVE)
    async def cancel_subscription(
        subscription_id: str, body: CancelRequest | None = None
    ) -> Response:
        at_period_end = body.at_period_end if body else False
        return object_response(state.cancel_subscription(subscription_id, at_period_end))

    # -- usage -----------------------------------------------------------------------------

    @r.post(
        "/subscriptions/{subscription_id}/usage-records",
        status_code=201,
        response_model=UsageRecord,
        responses=_CHILD,
    )
    async def record_usage(subscription_id: str, body: UsageRecordInput) -> Response:
        return object_response(state.record_usage(subscription_id, body.model_dump()), 201)

    @r.get(
        "/subscriptions/{subscription_id}/usage-records",
        response_model=ListOf(UsageRecord),
        responses=problem_responses(404, 422),
    )
    async def list_subscription_usage(
        subscription_id: str,
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        subscription_item_id: IdFilter = None,
    ) -> Response:
        subs.get(subscription_id)
        return filtered_page(
            usage,
            limit,
            cursor,
            subscription_id=subscription_id,
            subscription_item_id=subscription_item_id,
        )

    @r.post(
        "/usage-records",
        status_code=201,
        response_model=UsageRecord,
        responses=problem_responses(409, 422),
    )
    async def create_usage_record(body: UsageRecordCreate) -> Response:
        fields = body.model_dump()
        subscription_id = fields.pop("subscription_id")
        state.require_subscription(subscription_id)
        return object_response(state.record_usage(subscription_id, fields), 201)

    @r.get("/usage-records", response_model=ListOf(UsageRecord), responses=_LIST)
    async def list_usage_records(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        subscription_id: IdFilter = None,
        subscription_item_id: IdFilter = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(
            usage,
            limit,
            cursor,
            subscription_id=subscription_id,
            subscription_item_id=subscription_item_id,
            external_id=external_id,
        )

    @r.get("/usage-records/{usage_record_id}", response_model=UsageRecord, responses=_GET)
    async def get_usage_record(usage_record_id: str) -> Response:
        return object_response(usage.get(usage_record_id))

    # -- invoices --------------------------------------------------------------------------

    @r.post(
        "/subscriptions/{subscription_id}/invoices",
        status_code=201,
        response_model=Invoice,
        responses=_CHILD,
    )
    async def invoice_subscription(
        subscription_id: str, body: InvoiceRun | None = None
    ) -> Response:
        fields = body.model_dump() if body else {}
        return object_response(state.invoice_subscription(subscription_id, fields), 201)

    @r.get("/invoices", response_model=ListOf(Invoice), responses=_LIST)
    async def list_invoices(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        customer_id: IdFilter = None,
        subscription_id: IdFilter = None,
        status: InvoiceStatus | None = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(
            invoices,
            limit,
            cursor,
            customer_id=customer_id,
            subscription_id=subscription_id,
            status=status,
            external_id=external_id,
        )

    @r.get("/invoices/{invoice_id}", response_model=Invoice, responses=_GET)
    async def get_invoice(invoice_id: str) -> Response:
        return object_response(invoices.get(invoice_id))

    @r.post("/invoices/{invoice_id}/finalize", response_model=Invoice, responses=_MOVE)
    async def finalize_invoice(invoice_id: str) -> Response:
        return object_response(state.finalize_invoice(invoice_id))

    @r.post("/invoices/{invoice_id}/pay", response_model=Invoice, responses=_PAY)
    async def pay_invoice(invoice_id: str, body: PayRequest | None = None) -> Response:
        method = body.payment_method if body else None
        return _paid_or_declined(*state.pay_invoice(invoice_id, method))

    @r.post("/invoices/{invoice_id}/retry-payment", response_model=Invoice, responses=_PAY)
    async def retry_payment(invoice_id: str) -> Response:
        return _paid_or_declined(*state.pay_invoice(invoice_id))

    @r.post("/invoices/{invoice_id}/void", response_model=Invoice, responses=_MOVE)
    async def void_invoice(invoice_id: str) -> Response:
        return object_response(state.void_invoice(invoice_id))

    @r.post("/invoices/{invoice_id}/mark-uncollectible", response_model=Invoice, responses=_MOVE)
    async def mark_uncollectible(invoice_id: str) -> Response:
        return object_response(state.mark_uncollectible(invoice_id))

    # -- payments and credit notes ---------------------------------------------------------

    @r.get("/payments", response_model=ListOf(Payment), responses=_LIST)
    async def list_payments(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        invoice_id: IdFilter = None,
        customer_id: IdFilter = None,
        status: Literal["succeeded", "failed"] | None = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(
            payments,
            limit,
            cursor,
            invoice_id=invoice_id,
            customer_id=customer_id,
            status=status,
            external_id=external_id,
        )

    @r.get("/payments/{payment_id}", response_model=Payment, responses=_GET)
    async def get_payment(payment_id: str) -> Response:
        return object_response(payments.get(payment_id))

    @r.post(
        "/invoices/{invoice_id}/credit-notes",
        status_code=201,
        response_model=CreditNote,
        responses=_CHILD,
    )
    async def create_credit_note(invoice_id: str, body: CreditNoteCreate) -> Response:
        return object_response(state.create_credit_note(invoice_id, body.model_dump()), 201)

    @r.get("/credit-notes", response_model=ListOf(CreditNote), responses=_LIST)
    async def list_credit_notes(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        invoice_id: IdFilter = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(notes, limit, cursor, invoice_id=invoice_id, external_id=external_id)

    @r.get("/credit-notes/{credit_note_id}", response_model=CreditNote, responses=_GET)
    async def get_credit_note(credit_note_id: str) -> Response:
        return object_response(notes.get(credit_note_id))

    return r


def create_app(config: SimConfig | None = None) -> FastAPI:
    """The billing simulator as an ASGI app."""
    state = BillingState(Runtime("billing", config))
    return build_app(
        state, _routes(state), title="golive billing simulator", description=__doc__ or ""
    )
