"""Cloud ERP simulator: a NetSuite/S/4-like order-to-cash and general-ledger API.

Faithful to: customers booked in a subsidiary (legal entity) with its functional
currency and VAT/GST rate (NetSuite OneWorld); credit limits that count open AR
and open orders (NetSuite's "include open orders" credit check), checked at entry
and again at approval; sales orders pending_approval → booked → fulfilled →
invoiced → closed (or cancelled before fulfilment), closing on their own once
their invoices are paid; AR invoices that post Dr AR / Cr revenue (per item's
revenue account) / Cr tax payable; receipts that post Dr cash / Cr AR and park
any unapplied remainder on an unapplied-payments liability; void by a reversing
entry (never a delete) and no void once payments are applied; accounting
periods that refuse postings once closed (409 ``period_closed``) and can be
reopened; journal entries that always balance, so the trial balance does; a
second object with the same ``external_id`` refused (409
``duplicate_external_id``, NetSuite's External ID uniqueness), unless a scenario
sets ``SimConfig(options={"enforce_unique_external_id": False})``.

LIMITATIONS: one transaction currency per customer (no multi-currency customers,
no exchange rates or revaluation); no revenue recognition schedules (revenue is
recognised at invoicing); tax is one rate per legal entity on the subtotal (no
nexus, no per-line tax codes, US sales tax is 0); no credit memos, refunds or
unapplying payments; receipts cannot be applied after entry; voiding an invoice
leaves its order invoiced; no SuiteTalk/OData-shaped URLs; period close has no
checklist and no year-end close (the clock closes each month on the 5th at 18:00
UTC, option ``period_close_hours``, see ``closing.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path
from starlette.responses import Response

from lifecycle.entities.erp import (
    AccountingPeriod,
    ArInvoice,
    ErpCustomer,
    Item,
    JournalEntry,
    Receipt,
    SalesOrder,
)
from lifecycle.states import SalesOrderStatus
from simulators.erp.models import (
    PERIOD_PATTERN,
    CustomerCreate,
    CustomerUpdate,
    InvoiceCreate,
    ItemCreate,
    ItemUpdate,
    JournalEntryCreate,
    OrderInvoice,
    ReceiptCreate,
    SalesOrderCreate,
    SalesOrderUpdate,
    TrialBalance,
)
from simulators.erp.state import ErpState
from simulators.kit.app import build_app
from simulators.kit.errors import problem_responses
from simulators.kit.http import (
    CURSOR,
    IF_MATCH,
    LIMIT,
    ListOf,
    expected_version,
    filtered_page,
    json_response,
    object_response,
)
from simulators.kit.params import Filter, IdFilter, filter_param
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime, SimConfig

__all__ = ["create_app"]

_GET = problem_responses(404)
_LIST = problem_responses(422)
_CREATE = problem_responses(409, 422)
_ACTION = problem_responses(404, 409, 422)
_PATCH = problem_responses(404, 409, 412, 422)
_GET_PERIOD = problem_responses(404, 422)
_PERIOD = Path(pattern=PERIOD_PATTERN, max_length=7, description="YYYY-MM", examples=["2026-03"])
_PeriodQ = Annotated[
    str | None, filter_param("Only this period (YYYY-MM).", max_length=7, pattern=PERIOD_PATTERN)
]


def _customer_routes(r: APIRouter, state: ErpState) -> None:
    customers, items = state.col("erp_customer"), state.col("item")

    @r.post("/customers", status_code=201, response_model=ErpCustomer, responses=_CREATE)
    async def create_customer(body: CustomerCreate) -> Response:
        return object_response(state.create_customer(body.model_dump()), 201)

    @r.get("/customers", response_model=ListOf(ErpCustomer), responses=_LIST)
    async def list_customers(
        limit: int = LIMIT, cursor: str | None = CURSOR, external_id: Filter = None,
        legal_entity: Filter = None, crm_account_id: IdFilter = None,
    ) -> Response:  # fmt: skip
        return filtered_page(
            customers,
            limit,
            cursor,
            external_id=external_id,
            legal_entity=legal_entity,
            crm_account_id=crm_account_id,
        )

    @r.get("/customers/{customer_id}", response_model=ErpCustomer, responses=_GET)
    async def get_customer(customer_id: str) -> Response:
        return object_response(customers.get(customer_id))

    @r.patch("/customers/{customer_id}", response_model=ErpCustomer, responses=_PATCH)
    async def update_customer(
        customer_id: str, body: CustomerUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_customer(customer_id, changes, expected_version(if_match))
        )

    @r.post("/items", status_code=201, response_model=Item, responses=_CREATE)
    async def create_item(body: ItemCreate) -> Response:
        return object_response(state.create_item(body.model_dump()), 201)

    @r.get("/items", response_model=ListOf(Item), responses=_LIST)
    async def list_items(
        limit: int = LIMIT, cursor: str | None = CURSOR, sku: Filter = None,
        external_id: Filter = None, type: Filter = None,
    ) -> Response:  # fmt: skip
        return filtered_page(items, limit, cursor, sku=sku, external_id=external_id, type=type)

    @r.get("/items/by-sku/{sku}", response_model=Item, responses=_GET)
    async def get_item_by_sku(sku: str) -> Response:
        return object_response(state.item_by_sku(sku))

    @r.get("/items/{item_id}", response_model=Item, responses=_GET)
    async def get_item(item_id: str) -> Response:
        return object_response(items.get(item_id))

    @r.patch("/items/{item_id}", response_model=Item, responses=_PATCH)
    async def update_item(
        item_id: str, body: ItemUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(state.update_item(item_id, changes, expected_version(if_match)))


def _order_routes(r: APIRouter, state: ErpState) -> None:
    orders = state.col("sales_order")

    @r.post("/sales-orders", status_code=201, response_model=SalesOrder, responses=_CREATE)
    async def create_sales_order(body: SalesOrderCreate) -> Response:
        return object_response(state.create_order(body.model_dump()), 201)

    @r.get("/sales-orders", response_model=ListOf(SalesOrder), responses=_LIST)
    async def list_sales_orders(
        limit: int = LIMIT, cursor: str | None = CURSOR, customer_id: IdFilter = None,
        status: SalesOrderStatus | None = None, external_id: Filter = None,
        quote_id: IdFilter = None, opportunity_id: IdFilter = None,
    ) -> Response:  # fmt: skip
        return filtered_page(
            orders,
            limit,
            cursor,
            customer_id=customer_id,
            status=status,
            external_id=external_id,
            quote_id=quote_id,
            opportunity_id=opportunity_id,
        )

    @r.get("/sales-orders/{order_id}", response_model=SalesOrder, responses=_GET)
    async def get_sales_order(order_id: str) -> Response:
        return object_response(orders.get(order_id))

    @r.patch("/sales-orders/{order_id}", response_model=SalesOrder, responses=_PATCH)
    async def update_sales_order(
        order_id: str, body: SalesOrderUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(state.update_order(order_id, changes, expected_version(if_match)))

    def _action(action: str, summary: str) -> None:
        async def act(order_id: str) -> Response:
            return object_response(state.act_on_order(order_id, action))

        r.add_api_route(
            f"/sales-orders/{{order_id}}/{action}", act, methods=["POST"], summary=summary,
            response_model=SalesOrder, responses=_ACTION, name=f"{action}_sales_order",
        )  # fmt: skip

    _action("approve", "Approve: pending_approval → booked (credit re-checked)")
    _action("fulfill", "Fulfil: booked → fulfilled")
    _action("close", "Close an invoiced order")
    _action("cancel", "Cancel a pending or booked order")

    @r.post(
        "/sales-orders/{order_id}/invoice", status_code=201, response_model=ArInvoice,
        responses=_ACTION, summary="Bill a fulfilled order: posts its AR invoice, dated today",
    )  # fmt: skip
    async def invoice_sales_order(order_id: str, body: OrderInvoice | None = None) -> Response:
        fields = body.model_dump() if body is not None else {}
        return object_response(state.invoice_order(order_id, fields), 201)


def _receivable_routes(r: APIRouter, state: ErpState) -> None:
    invoices, receipts = state.col("ar_invoice"), state.col("receipt")

    @r.post("/invoices", status_code=201, response_model=ArInvoice, responses=_CREATE)
    async def create_invoice(body: InvoiceCreate) -> Response:
        return object_response(state.create_invoice(body.model_dump()), 201)

    @r.get("/invoices", response_model=ListOf(ArInvoice), responses=_LIST)
    async def list_invoices(
        limit: int = LIMIT, cursor: str | None = CURSOR, customer_id: IdFilter = None,
        status: Literal["open", "paid", "void"] | None = None, external_id: Filter = None,
        sales_order_id: IdFilter = None, period: _PeriodQ = None,
    ) -> Response:  # fmt: skip
        return filtered_page(
            invoices,
            limit,
            cursor,
            customer_id=customer_id,
            status=status,
            external_id=external_id,
            sales_order_id=sales_order_id,
            period=period,
        )

    @r.get("/invoices/{invoice_id}", response_model=ArInvoice, responses=_GET)
    async def get_invoice(invoice_id: str) -> Response:
        return object_response(invoices.get(invoice_id))

    @r.post("/invoices/{invoice_id}/void", response_model=ArInvoice, responses=_ACTION)
    async def void_invoice(invoice_id: str) -> Response:
        return object_response(state.void_invoice(invoice_id))

    @r.post("/receipts", status_code=201, response_model=Receipt, responses=_CREATE)
    async def create_receipt(body: ReceiptCreate) -> Response:
        return object_response(state.create_receipt(body.model_dump()), 201)

    @r.get("/receipts", response_model=ListOf(Receipt), responses=_LIST)
    async def list_receipts(
        limit: int = LIMIT, cursor: str | None = CURSOR, customer_id: IdFilter = None,
        external_id: Filter = None,
    ) -> Response:  # fmt: skip
        return filtered_page(
            receipts, limit, cursor, customer_id=customer_id, external_id=external_id
        )

    @r.get("/receipts/{receipt_id}", response_model=Receipt, responses=_GET)
    async def get_receipt(receipt_id: str) -> Response:
        return object_response(receipts.get(receipt_id))


def _ledger_routes(r: APIRouter, state: ErpState) -> None:
    entries, periods = state.col("journal_entry"), state.col("accounting_period")

    @r.post("/journal-entries", status_code=201, response_model=JournalEntry, responses=_CREATE)
    async def create_journal_entry(body: JournalEntryCreate) -> Response:
        return object_response(state.create_manual_entry(body.model_dump()), 201)

    @r.get("/journal-entries", response_model=ListOf(JournalEntry), responses=_LIST)
    async def list_journal_entries(
        limit: int = LIMIT, cursor: str | None = CURSOR, period: _PeriodQ = None,
        source_id: IdFilter = None, source_type: Filter = None,
        legal_entity: Filter = None, external_id: Filter = None,
    ) -> Response:  # fmt: skip
        return filtered_page(
            entries,
            limit,
            cursor,
            period=period,
            source_id=source_id,
            source_type=source_type,
            legal_entity=legal_entity,
            external_id=external_id,
        )

    @r.get("/journal-entries/{entry_id}", response_model=JournalEntry, responses=_GET)
    async def get_journal_entry(entry_id: str) -> Response:
        return object_response(entries.get(entry_id))

    @r.get("/ledger/trial-balance", response_model=TrialBalance, responses=_LIST)
    async def trial_balance(period: _PeriodQ = None, legal_entity: Filter = None) -> Response:
        return json_response(state.trial_balance(period, legal_entity))

    @r.get("/periods", response_model=ListOf(AccountingPeriod), responses=_LIST)
    async def list_periods(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        status: Literal["open", "closed"] | None = None,
        external_id: Filter = None,
    ) -> Response:
        return filtered_page(periods, limit, cursor, status=status, external_id=external_id)

    @r.get("/periods/{name}", response_model=AccountingPeriod, responses=_GET_PERIOD)
    async def get_period(name: str = _PERIOD) -> Response:
        return object_response(state.get_period(name))

    @r.post("/periods/{name}/close", response_model=AccountingPeriod, responses=_ACTION)
    async def close_period(name: str = _PERIOD) -> Response:
        return object_response(state.close_period(name))

    @r.post("/periods/{name}/reopen", response_model=AccountingPeriod, responses=_ACTION)
    async def reopen_period(name: str = _PERIOD) -> Response:
        return object_response(state.reopen_period(name))


def _routes(state: ErpState) -> APIRouter:
    r = APIRouter(tags=["erp"], route_class=SimRoute)
    _customer_routes(r, state)
    _order_routes(r, state)
    _receivable_routes(r, state)
    _ledger_routes(r, state)
    return r


def create_app(config: SimConfig | None = None) -> FastAPI:
    """The cloud ERP simulator as an ASGI app."""
    state = ErpState(Runtime("erp", config))
    return build_app(state, _routes(state), title="golive ERP simulator", description=__doc__ or "")
