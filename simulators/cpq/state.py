"""CPQ objects and rules: a product catalogue, price books per currency, priced quotes.

Quotes are priced here, with ``lifecycle.pricing.price_quote``, from the product,
quantity and discounts a client sends; clients never send prices or totals.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar

from lifecycle.entities._base import CurrencyCode
from lifecycle.pricing import (
    DEFAULT_APPROVAL_THRESHOLD_BPS,
    BillingType,
    PriceScheme,
    PriceSpec,
    PricingError,
    QuoteLineInput,
    price_quote,
)
from lifecycle.pricing import Tier as _Tier
from lifecycle.states import MACHINES, QuoteStatus
from simulators.cpq import errors
from simulators.kit.bodies import Money, Quantity, Sku, check_currency, check_money_total
from simulators.kit.errors import Conflict, Invalid
from simulators.kit.params import Id
from simulators.kit.scheduler import JobResult, JobSpec, day_start
from simulators.kit.state import Obj, SystemState, Versions, provider_state
from simulators.kit.store import CollectionSpec

__all__ = ["CpqState"]

QUOTE = MACHINES["quote"]
DEFAULT_VALIDITY_DAYS = 30  # Salesforce CPQ's default quote expiration: 30 days
# A quote can still be priced, moved or accepted while it is in one of these.
_LIVE = (QuoteStatus.DRAFT.value, QuoteStatus.IN_REVIEW.value, QuoteStatus.APPROVED.value)
_REPRICE_ON = ("lines", "discount_bps", "term_months")
VALID_UNTIL = "valid_until"


def live_until(quote: Obj) -> str | None:
    """The last day a live quote is valid (the key of the ``valid_until`` index)."""
    if quote["status"] not in _LIVE:
        return None
    last: str | None = quote["valid_until"] or None
    return last


_TierKey = tuple[int | None, int, int]


@lru_cache(maxsize=4096, typed=True)
def _spec_of(scheme: str, unit_amount_minor: int, tiers: tuple[_TierKey, ...]) -> PriceSpec:
    return PriceSpec(
        scheme=PriceScheme(scheme),
        unit_amount_minor=unit_amount_minor,
        tiers=tuple(_Tier(*tier) for tier in tiers),
    )


def _spec(entry: Obj) -> PriceSpec:
    """The pricing engine's spec of a stored price book entry (PricingError if unpriceable).

    Every quote write prices its lines; the spec (enum, tiers, checks) is built once per
    distinct price and then shared: the cache is keyed by the entry's values, so a changed
    price is a new key, never a stale spec (PriceSpec is frozen).
    """
    return _spec_of(
        entry["scheme"],
        entry["unit_amount_minor"],
        tuple(
            (t["up_to"], t["unit_amount_minor"], t.get("flat_amount_minor", 0))
            for t in entry["tiers"]
        ),
    )


class CpqState(SystemState):
    SYSTEM = "cpq"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (
        CollectionSpec("product", indexed=("external_id", "sku", "family"), unique=("sku",)),
        CollectionSpec(
            "price_book",
            indexed=("external_id", "currency"),
            label="price book",
            references={"entries.product_id": "product"},
        ),
        CollectionSpec(
            "quote",
            indexed=("external_id", "status", "opportunity_id", "account_id"),
            references={"price_book_id": "price_book", "lines.product_id": "product"},
            derived={VALID_UNTIL: live_until},
        ),
    )
    JOBS: ClassVar[tuple[JobSpec, ...]] = (
        JobSpec("quote_expiry", due="next_quote_expiry", run="run_quote_expiry"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.approval_threshold_bps = int(
            self.options.get("approval_threshold_bps", DEFAULT_APPROVAL_THRESHOLD_BPS)
        )
        self.validity_days = int(self.options.get("quote_validity_days", DEFAULT_VALIDITY_DAYS))

    def _fresh_quote_id(self) -> str:
        """A quote id drawn before the quote is stored, for its line ids; never one in use."""
        quotes, ids = self.col("quote"), self.rt.ids
        quote_id = ids.new("quote")
        while quote_id in quotes:
            quote_id = ids.new("quote")
        return quote_id

    # -- products ----------------------------------------------------------------------------

    def create_product(self, fields: Obj) -> Obj:
        product = self.new("product", {"unit": "unit", "active": True, **fields})
        self.emit("product.created", product)
        return product

    def update_product(self, product_id: str, changes: Obj, version: Versions | None) -> Obj:
        product = self.col("product").get(product_id)
        product = self.update("product", product, changes, version)
        self.emit("product.updated", product)
        return product

    def _resolve_product(self, ref: Obj, field: str) -> Obj:
        """The product a body names by ``product_id`` or ``sku``; 422 if it names none."""
        products = self.col("product")
        if ref.get("product_id") is not None:
            product = products.find(ref["product_id"])
            if product is None:
                raise errors.unknown("product", ref["product_id"], f"{field}.product_id")
            return product
        product = products.first_by("sku", ref["sku"])
        if product is None:
            raise errors.unknown("product", ref["sku"], f"{field}.sku", by="sku")
        return product

    # -- price books -------------------------------------------------------------------------

    def _entry(self, product: Obj, price: Obj, field: str) -> Obj:
        scheme = PriceScheme(price["scheme"])
        tiers = [
            {"up_to": t["up_to"], "unit_amount_minor": t["unit_amount_minor"],
             "flat_amount_minor": t["flat_amount_minor"]}
            for t in price.get("tiers", [])
        ]  # fmt: skip
        if scheme is PriceScheme.PER_UNIT and tiers:
            raise errors.invalid_price(f"{field}.tiers", "a per_unit price takes no tiers")
        if scheme is not PriceScheme.PER_UNIT and price["unit_amount_minor"]:
            raise errors.invalid_price(
                f"{field}.unit_amount_minor",
                f"a {scheme.value} price is set by its tiers; unit_amount_minor must be 0",
            )
        entry = {
            "product_id": product["id"], "sku": product["sku"], "scheme": scheme.value,
            "unit_amount_minor": price["unit_amount_minor"], "tiers": tiers,
        }  # fmt: skip
        try:
            _spec(entry)
        except PricingError as exc:
            raise errors.invalid_price(f"{field}.tiers", str(exc)) from None
        return entry

    def _check_default(self, currency: str, exclude: str | None = None) -> None:
        # Salesforce has one standard price book; here there is at most one default per currency.
        for book in self.col("price_book").by("currency", currency):
            if book["is_default"] and book["id"] != exclude:
                raise Conflict(
                    "default_price_book_exists",
                    f"{book['id']} is already the default {currency} price book",
                    [{"field": "is_default", "message": f"{book['id']} is the default"}],
                )

    def create_price_book(self, fields: Obj) -> Obj:
        currency = check_currency(fields["currency"])
        if fields.get("is_default"):
            self._check_default(currency)
        entries: list[Obj] = []
        seen: set[str] = set()
        for n, raw in enumerate(fields.pop("entries", [])):
            product = self._resolve_product(raw, f"entries.{n}")
            if product["id"] in seen:
                raise Invalid(
                    "duplicate_entry",
                    f"{product['sku']} is priced twice in this price book",
                    [{"field": f"entries.{n}", "message": "product already has an entry"}],
                )
            seen.add(product["id"])
            entries.append(self._entry(product, raw, f"entries.{n}"))
        book = self.new("price_book", {"is_default": False, **fields, "entries": entries})
        self.emit("price_book.created", book)
        return book

    def update_price_book(self, book_id: str, changes: Obj, version: Versions | None) -> Obj:
        book = self.col("price_book").get(book_id)
        if changes.get("is_default"):
            self._check_default(book["currency"], exclude=book_id)
        book = self.update("price_book", book, changes, version)
        self.emit("price_book.updated", book)
        return book

    def put_entry(self, book_id: str, product_id: str, price: Obj) -> Obj:
        """Add or replace a product's price in a book (a Salesforce PricebookEntry upsert)."""
        book = self.col("price_book").get(book_id)
        product = self.col("product").get(product_id)
        entry = self._entry(product, price, "body")
        entries = [e for e in book["entries"] if e["product_id"] != product_id] + [entry]
        book = self.update("price_book", book, {"entries": entries})
        self.emit("price_book.updated", book)
        return book

    # -- pricing -----------------------------------------------------------------------------

    def _book_for(self, price_book_id: str | None, currency: str | None) -> Obj:
        books = self.col("price_book")
        if price_book_id is not None:
            book = books.find(price_book_id)
            if book is None:
                raise errors.unknown("price_book", price_book_id, "price_book_id")
            if currency is not None and currency != book["currency"]:
                raise Invalid(
                    "currency_mismatch",
                    f"{book['id']} prices in {book['currency']}, not {currency}; "
                    "a quote takes its price book's currency",
                    [{"field": "currency", "message": f"must be {book['currency']}"}],
                )
            return book
        wanted = currency or "USD"
        for book in books.by("currency", wanted):
            if book["is_default"]:
                return book
        raise Invalid(
            "no_default_price_book",
            f"no default {wanted} price book; name one with price_book_id",
            [{"field": "price_book_id", "message": "required"}],
        )

    def _price(self, quote_id: str, book: Obj, lines: list[Obj], term: int, bps: int) -> Obj:
        """The priced lines and totals of a quote, as stored on it."""
        by_product = {e["product_id"]: e for e in book["entries"]}
        inputs: list[QuoteLineInput] = []
        resolved: list[Obj] = []
        for n, line in enumerate(lines):
            field = f"lines.{n}"
            product = self._resolve_product(line, field)
            entry = by_product.get(product["id"])
            if entry is None:
                raise errors.product_not_in_price_book(product, book, f"{field}.product_id")
            if not product["active"]:
                raise errors.product_inactive(product, f"{field}.product_id")
            try:
                spec = _spec(entry)
            except PricingError as exc:
                raise errors.invalid_price(field, f"{book['id']}: {exc}") from None
            billing_type = BillingType(product["billing_type"])
            inputs.append(
                QuoteLineInput(spec, billing_type, line["quantity"], line.get("discount_bps", 0))
            )
            resolved.append(product)
        try:
            totals = price_quote(inputs, term, bps, self.approval_threshold_bps)
        except PricingError as exc:
            raise Invalid("invalid_price", str(exc)) from None
        check_money_total(totals.list_minor, "lines")
        priced = [
            {"id": f"{quote_id}-{n}", "product_id": p["id"], "sku": p["sku"],
             "billing_type": p["billing_type"], "quantity": i.quantity,
             "discount_bps": i.discount_bps, "list_minor": lp.list_minor,
             "discount_minor": lp.discount_minor, "net_minor": lp.net_minor,
             "monthly_minor": lp.monthly_minor}
            for n, (p, i, lp) in enumerate(zip(resolved, inputs, totals.lines, strict=True), 1)
        ]  # fmt: skip
        return {
            "lines": priced,
            "list_minor": totals.list_minor,
            "line_discount_minor": totals.line_discount_minor,
            "header_discount_minor": totals.header_discount_minor,
            "total_minor": totals.total_minor,
            "one_time_minor": totals.one_time_minor,
            "recurring_monthly_minor": totals.recurring_monthly_minor,
            "recurring_monthly_list_minor": totals.recurring_monthly_list_minor,
            "effective_discount_bps": totals.effective_discount_bps,
            "needs_approval": totals.needs_approval,
        }

    # -- quotes ------------------------------------------------------------------------------

    def create_quote(self, fields: Obj, quote_id: str | None = None) -> Obj:
        """A draft quote, priced; ``quote_id`` is for Pact provider states that name the id."""
        book = self._book_for(fields.pop("price_book_id", None), fields.pop("currency", None))
        lines = fields.pop("lines", [])
        valid_until = fields.pop("valid_until", None)
        if valid_until is None:
            valid_until = (self.clock.today() + timedelta(days=self.validity_days)).isoformat()
        quote_id = quote_id or self._fresh_quote_id()
        priced = self._price(
            quote_id, book, lines, fields.setdefault("term_months", 12),
            fields.setdefault("discount_bps", 0),
        )  # fmt: skip
        quote = self.new(
            "quote",
            {"opportunity_id": None, "account_id": None, "term_months": 12, "discount_bps": 0,
             **fields, "id": quote_id, "price_book_id": book["id"], "currency": book["currency"],
             "status": QuoteStatus.DRAFT.value, "approved_by": None, "accepted_at": None,
             "valid_until": valid_until, **priced},
        )  # fmt: skip
        self.emit("quote.created", quote)
        return quote

    def update_quote(self, quote_id: str, changes: Obj, version: Versions | None) -> Obj:
        quote = self.col("quote").get(quote_id)
        if quote["status"] != QuoteStatus.DRAFT:
            raise errors.quote_locked(quote)
        if any(k in changes for k in _REPRICE_ON):
            # Editing a draft recalculates it against the book's current prices (CPQ "Calculate").
            merged = {**quote, **changes}
            book = self.col("price_book").get(quote["price_book_id"])
            changes.update(
                self._price(quote_id, book, merged["lines"], merged["term_months"],
                            merged["discount_bps"])
            )  # fmt: skip
        quote = self.update("quote", quote, changes, version)
        self.emit("quote.updated", quote)
        return quote

    def _require_current(self, quote: Obj) -> None:
        today = self.today()
        if quote["status"] in _LIVE and quote["valid_until"] and quote["valid_until"] < today:
            raise errors.quote_expired(quote, today)

    def submit_quote(self, quote_id: str) -> Obj:
        """draft → in_review, and on to approved at once when no discount needs approval."""
        quote = self.col("quote").get(quote_id)
        if quote["status"] == QuoteStatus.DRAFT:
            self._require_current(quote)
            if not quote["lines"]:
                raise Invalid(
                    "quote_empty",
                    f"{quote_id} has no lines to submit",
                    [{"field": "lines", "message": "add at least one line"}],
                )
            for n, line in enumerate(quote["lines"]):
                product = self.col("product").find(line["product_id"])
                if product is not None and not product["active"]:
                    raise errors.product_inactive(product, f"lines.{n}.product_id")
        quote = self.move("quote", quote, QUOTE, QuoteStatus.IN_REVIEW.value)
        self.emit("quote.submitted", quote)
        if not quote["needs_approval"]:
            quote = self.move("quote", quote, QUOTE, QuoteStatus.APPROVED.value)
            self.emit("quote.approved", quote)
        return quote

    def approve_quote(self, quote_id: str, approver: str) -> Obj:
        quote = self.col("quote").get(quote_id)
        self._require_current(quote)
        quote = self.move(
            "quote", quote, QUOTE, QuoteStatus.APPROVED.value, {"approved_by": approver}
        )
        self.emit("quote.approved", quote)
        return quote

    def reject_quote(self, quote_id: str) -> Obj:
        quote = self.move("quote", self.col("quote").get(quote_id), QUOTE, "rejected")
        self.emit("quote.rejected", quote)
        return quote

    def recall_quote(self, quote_id: str) -> Obj:
        """in_review → draft: the rep takes the quote back to edit it (approval recall)."""
        quote = self.move("quote", self.col("quote").get(quote_id), QUOTE, "draft")
        self.emit("quote.updated", quote)
        return quote

    def accept_quote(self, quote_id: str) -> Obj:
        quote = self.col("quote").get(quote_id)
        self._require_current(quote)
        unapproved = (QuoteStatus.DRAFT.value, QuoteStatus.IN_REVIEW.value)
        if quote["status"] in unapproved and quote["needs_approval"]:
            raise errors.approval_required(quote, self.approval_threshold_bps)
        quote = self.move(
            "quote", quote, QUOTE, QuoteStatus.ACCEPTED.value, {"accepted_at": self.now()}
        )
        self.emit("quote.accepted", quote)
        return quote

    def expire_quote(self, quote_id: str) -> Obj:
        quote = self.move("quote", self.col("quote").get(quote_id), QUOTE, "expired")
        self.emit("quote.expired", quote)
        return quote

    def next_quote_expiry(self) -> float | None:
        """A quote valid until day D expires at 00:00 UTC the day after."""
        last = self.col("quote").lowest(VALID_UNTIL)
        return None if last is None else day_start(last) + 86_400

    def run_quote_expiry(self, at: datetime) -> JobResult:
        return JobResult(len(self.expire_overdue_quotes()))

    def expire_overdue_quotes(self) -> list[str]:
        """Expire every live quote past its ``valid_until``; the clock's ``quote_expiry`` job."""
        yesterday = (date.fromisoformat(self.today()) - timedelta(days=1)).isoformat()
        overdue = [q["id"] for q in self.col("quote").upto(VALID_UNTIL, yesterday)]
        for quote_id in overdue:
            self.expire_quote(quote_id)
        return overdue

    # -- Pact provider states ----------------------------------------------------------------

    @provider_state("a product in a price book exists")
    def _state_product(
        self, sku: Sku = "PLAT-STD", currency: CurrencyCode = "USD", id: Id | None = None
    ) -> Obj:
        product = self.col("product").first_by("sku", sku) or self.create_product(
            {"sku": sku, "name": sku, "family": "platform", "billing_type": "recurring"}
        )
        if id is not None:
            product = self.with_id("product", product, id)
        book = next((b for b in self.col("price_book").by("currency", currency)
                     if b["is_default"]), None)  # fmt: skip
        if book is None:
            book = self.create_price_book(
                {"name": f"List {currency}", "currency": currency, "is_default": True}
            )
        if product["id"] not in {e["product_id"] for e in book["entries"]}:
            price = {"scheme": "per_unit", "unit_amount_minor": 4_000, "tiers": []}
            book = self.put_entry(book["id"], product["id"], price)
        return {"product_id": product["id"], "price_book_id": book["id"]}

    @provider_state("a draft quote exists")
    def _state_draft(self, id: Id | None = None, quantity: Quantity = 10) -> Obj:
        ids = self._state_product()
        if id is not None and id in self.col("quote"):
            return {**ids, "quote_id": id}
        quote = self.create_quote(
            {"price_book_id": ids["price_book_id"], "term_months": 12, "discount_bps": 0,
             "lines": [{"product_id": ids["product_id"], "quantity": quantity}]},
            quote_id=id,
        )  # fmt: skip
        return {**ids, "quote_id": quote["id"]}

    @provider_state("an approved quote exists")
    def _state_approved(self, id: Id | None = None) -> Obj:
        ids = self._state_draft(id=id)
        if self.col("quote").get(ids["quote_id"])["status"] == QuoteStatus.DRAFT:
            self.submit_quote(ids["quote_id"])
        return ids

    @provider_state("an accepted quote {quote_id} totalling {amount_minor} {currency}")
    def _state_accepted(
        self, quote_id: Id | None = None, amount_minor: Money = 1_200_000,
        currency: CurrencyCode = "USD", sku: Sku = "PLAT-STD",
    ) -> Obj:  # fmt: skip
        """An accepted quote whose total is exactly ``amount_minor``: one recurring line of
        ``sku`` over 12 months (1 month when the amount does not divide by 12)."""
        quote = self.col("quote").find(quote_id)
        if quote is None:
            term = 12 if amount_minor % 12 == 0 else 1
            ids = self._state_product(sku=sku, currency=currency)
            price = {"scheme": "per_unit", "unit_amount_minor": amount_minor // term, "tiers": []}
            book = self.put_entry(ids["price_book_id"], ids["product_id"], price)
            quote = self.create_quote(
                {"price_book_id": book["id"], "term_months": term, "discount_bps": 0,
                 "lines": [{"product_id": ids["product_id"], "quantity": 1}]},
                quote_id=quote_id,
            )  # fmt: skip
        if quote["status"] == QuoteStatus.DRAFT:
            quote = self.submit_quote(quote["id"])
        if quote["status"] == QuoteStatus.APPROVED:
            quote = self.accept_quote(quote["id"])
        return {"quote_id": quote["id"], "total_minor": quote["total_minor"]}
