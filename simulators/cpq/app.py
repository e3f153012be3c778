"""CPQ simulator: a Salesforce CPQ-like catalogue, price book and quote API.

Faithful to: unique product SKUs; products priced per currency in price books
(a PricebookEntry per product and book, upserted by PUT); per-unit, graduated
("tiered", Stripe's ``graduated``) and volume prices; the quote takes its price
book's currency; the server calculates every line and total (CPQ's calculator),
in integer minor units, recurring lines over the term and one-time lines once;
quotes lock when they leave draft (approval record lock); a discount above the
approval threshold (option ``approval_threshold_bps``, default 20 %) needs an
approver before the quote can be accepted, and a quote with none is approved as
soon as it is submitted (Advanced Approvals with no matching rule); inactive
products cannot be quoted; quotes expire 30 days after creation by default
(option ``quote_validity_days``) and an overdue quote cannot be moved on.

LIMITATIONS: no bundles, options or product rules; no multi-level or parallel
approval chains (one approver); no proration, co-terming or amendments; no
currency conversion (one book per currency); overdue quotes are refused, and move
to ``expired`` at 00:00 UTC after their ``valid_until`` (the clock's
``quote_expiry`` job) or on ``POST /quotes/{id}/expire``; no Salesforce-shaped URLs.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.responses import Response

from lifecycle.entities.cpq import PriceBook, Product, Quote
from lifecycle.pricing import BillingType
from lifecycle.states import QuoteStatus
from simulators.cpq.models import (
    ApproveRequest,
    EntryPrice,
    PriceBookCreate,
    PriceBookUpdate,
    ProductCreate,
    ProductUpdate,
    QuoteCreate,
    QuoteUpdate,
)
from simulators.cpq.state import CpqState
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
_CREATE = problem_responses(409, 422)
_PATCH = problem_responses(404, 409, 412, 422)
_MOVE = problem_responses(404, 409, 422)


def _routes(state: CpqState) -> APIRouter:
    r = APIRouter(tags=["cpq"], route_class=SimRoute)
    products, books, quotes = state.col("product"), state.col("price_book"), state.col("quote")

    # -- products ----------------------------------------------------------------------------

    @r.post("/products", status_code=201, response_model=Product, responses=_CREATE)
    async def create_product(body: ProductCreate) -> Response:
        return object_response(state.create_product(body.model_dump(mode="json")), 201)

    @r.get("/products", response_model=ListOf(Product), responses=_LIST)
    async def list_products(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        external_id: Filter = None,
        sku: Filter = None,
        family: Filter = None,
        billing_type: BillingType | None = None,
        active: bool | None = None,
    ) -> Response:
        return filtered_page(
            products,
            limit,
            cursor,
            external_id=external_id,
            sku=sku,
            family=family,
            billing_type=billing_type,
            active=active,
        )

    @r.get("/products/{product_id}", response_model=Product, responses=_GET)
    async def get_product(product_id: str) -> Response:
        return object_response(products.get(product_id))

    @r.patch("/products/{product_id}", response_model=Product, responses=_PATCH)
    async def update_product(
        product_id: str, body: ProductUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_product(product_id, changes, expected_version(if_match))
        )

    # -- price books -------------------------------------------------------------------------

    @r.post("/price-books", status_code=201, response_model=PriceBook, responses=_CREATE)
    async def create_price_book(body: PriceBookCreate) -> Response:
        return object_response(state.create_price_book(body.model_dump(mode="json")), 201)

    @r.get("/price-books", response_model=ListOf(PriceBook), responses=_LIST)
    async def list_price_books(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        external_id: Filter = None,
        currency: Filter = None,
        is_default: bool | None = None,
    ) -> Response:
        return filtered_page(
            books, limit, cursor, external_id=external_id, currency=currency, is_default=is_default
        )

    @r.get("/price-books/{price_book_id}", response_model=PriceBook, responses=_GET)
    async def get_price_book(price_book_id: str) -> Response:
        return object_response(books.get(price_book_id))

    @r.patch("/price-books/{price_book_id}", response_model=PriceBook, responses=_PATCH)
    async def update_price_book(
        price_book_id: str, body: PriceBookUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(
            state.update_price_book(price_book_id, changes, expected_version(if_match))
        )

    @r.put(
        "/price-books/{price_book_id}/entries/{product_id}",
        response_model=PriceBook,
        responses=_MOVE,
        summary="Add or replace a product's price in a price book",
    )
    async def put_entry(price_book_id: str, product_id: str, body: EntryPrice) -> Response:
        return object_response(
            state.put_entry(price_book_id, product_id, body.model_dump(mode="json"))
        )

    # -- quotes ------------------------------------------------------------------------------

    @r.post("/quotes", status_code=201, response_model=Quote, responses=_CREATE)
    async def create_quote(body: QuoteCreate) -> Response:
        return object_response(state.create_quote(body.model_dump()), 201)

    @r.get("/quotes", response_model=ListOf(Quote), responses=_LIST)
    async def list_quotes(
        limit: int = LIMIT,
        cursor: str | None = CURSOR,
        external_id: Filter = None,
        status: QuoteStatus | None = None,
        opportunity_id: IdFilter = None,
        account_id: IdFilter = None,
    ) -> Response:
        return filtered_page(
            quotes,
            limit,
            cursor,
            external_id=external_id,
            status=status,
            opportunity_id=opportunity_id,
            account_id=account_id,
        )

    @r.get("/quotes/{quote_id}", response_model=Quote, responses=_GET)
    async def get_quote(quote_id: str) -> Response:
        return object_response(quotes.get(quote_id))

    @r.patch("/quotes/{quote_id}", response_model=Quote, responses=_PATCH)
    async def update_quote(
        quote_id: str, body: QuoteUpdate, if_match: str | None = IF_MATCH
    ) -> Response:
        changes = body.model_dump(exclude_unset=True)
        return object_response(state.update_quote(quote_id, changes, expected_version(if_match)))

    @r.post("/quotes/{quote_id}/submit", response_model=Quote, responses=_MOVE)
    async def submit_quote(quote_id: str) -> Response:
        """draft → in_review; straight on to approved when no discount needs approval."""
        return object_response(state.submit_quote(quote_id))

    @r.post("/quotes/{quote_id}/approve", response_model=Quote, responses=_MOVE)
    async def approve_quote(quote_id: str, body: ApproveRequest) -> Response:
        return object_response(state.approve_quote(quote_id, body.approver))

    @r.post("/quotes/{quote_id}/reject", response_model=Quote, responses=_MOVE)
    async def reject_quote(quote_id: str) -> Response:
        return object_response(state.reject_quote(quote_id))

    @r.post("/quotes/{quote_id}/recall", response_model=Quote, responses=_MOVE)
    async def recall_quote(quote_id: str) -> Response:
        """in_review → draft, to edit the quote again."""
        return object_response(state.recall_quote(quote_id))

    @r.post("/quotes/{quote_id}/accept", response_model=Quote, responses=_MOVE)
    async def accept_quote(quote_id: str) -> Response:
        """approved → accepted; 409 approval_required while a needed approval is missing."""
        return object_response(state.accept_quote(quote_id))

    @r.post("/quotes/{quote_id}/expire", response_model=Quote, responses=_MOVE)
    async def expire_quote(quote_id: str) -> Response:
        return object_response(state.expire_quote(quote_id))

    return r


def create_app(config: SimConfig | None = None) -> FastAPI:
    """The CPQ simulator as an ASGI app."""
    state = CpqState(Runtime("cpq", config))
    return build_app(state, _routes(state), title="golive CPQ simulator", description=__doc__ or "")
