"""Locust users for the quote-to-cash flows, weighted as a quarter end mixes them.

The weights follow what a quarter end looks like from the systems' side: metering
posts usage all the time, reps and the deal desk price and close deals, the order desk
books what closed, support keeps working. Every flow follows the simulators' business
rules (a 4xx from a system is a bug in the flow, or a finding about the system).
"""

from __future__ import annotations

import logging
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.runners import MasterRunner

from loadtests import results  # noqa: F401  (writes the final stats for golive load)
from loadtests.auth import TokenCache
from loadtests.client import Api, CallFailed, fetch_token, new_correlation_id
from loadtests.data import (
    DataProblem,
    LoadData,
    client_credentials,
    load_data,
    system_urls,
)
from loadtests.pacing import WaitTime, paced_between, pacing_from_env, think_scale_from_env

__all__ = [
    "GoliveUser",
    "OrderDeskUser",
    "QuotePricingUser",
    "SalesRepUser",
    "SupportAgentUser",
    "UsageMeterUser",
]

log = logging.getLogger(__name__)
Obj = dict[str, Any]

# Think time of every user is multiplied by GOLIVE_LOAD_THINK_SCALE: 1 is people and
# pipelines at their usual pace; a benchmark shrinks it and keeps the mix. With
# GOLIVE_LOAD_PACING=1 the think time runs from each flow's start (a fixed offered rate).
_settings_problem = ""
try:
    THINK_SCALE = think_scale_from_env()
    PACING = pacing_from_env()
except ValueError as _exc:
    THINK_SCALE, PACING, _settings_problem = 1.0, False, str(_exc)


def think(low_s: float, high_s: float) -> WaitTime:
    """The wait between two flows of one user: ``low_s..high_s`` seconds, scaled, paced or not."""
    low_s, high_s = low_s * THINK_SCALE, high_s * THINK_SCALE
    return paced_between(low_s, high_s) if PACING else between(low_s, high_s)


_data: LoadData | None = None


def shared_data() -> LoadData:
    """The reference data, read once per process."""
    global _data
    if _data is None:
        _data = load_data()
    return _data


class GoliveUser(FastHttpUser):
    """Base of the flow users: one API per system, one token cache, shared data."""

    abstract = True
    host = system_urls()["crm"]  # shown in Locust's UI; GOLIVE_<SYSTEM>_URL set the rest
    systems: ClassVar[tuple[str, ...]] = ()

    def on_start(self) -> None:
        self.rng = random.Random()
        self.data = shared_data()
        urls = system_urls(self.environment.host or self.host)
        client_id, secret = client_credentials()
        self.tokens = TokenCache(lambda s: fetch_token(self.client, s, urls[s], client_id, secret))
        self.api = {s: Api(self.client, s, urls[s], self.tokens) for s in self.systems}

    def today(self, days: int = 0) -> str:
        return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


class SalesRepUser(GoliveUser):
    """A rep working deals: open, qualify, quote (with deal-desk approval), close."""

    weight = 3
    wait_time = think(1, 4)
    systems = ("crm", "cpq")

    def _open_deal(self, corr: str) -> tuple[Obj, Obj]:
        crm = self.api["crm"]
        account = self.rng.choice(self.data.quotable_accounts())
        opp = crm.call("POST", "/opportunities", "/opportunities", corr, body={
            "account_id": account["id"],
            "name": f"{account['name'][:200]} - {self.rng.choice(['Renewal', 'Expansion', 'New'])}",
            "type": self.rng.choice(["new_business", "expansion", "renewal"]),
            "stage": "prospecting",
            "close_date": self.today(self.rng.randint(0, 30)),
        })  # fmt: skip
        opp = self._move(opp, corr, stage="qualification")
        return account, opp

    def _move(self, opp: Obj, corr: str, **changes: Any) -> Obj:
        return self.api["crm"].call(
            "PATCH", f"/opportunities/{opp['id']}", "/opportunities/[id]", corr,
            body=changes, if_match=opp["version"],
        )  # fmt: skip

    @task(4)
    def close_a_deal(self) -> None:
        corr = new_correlation_id("deal")
        try:
            account, opp = self._open_deal(corr)
            opp = self._move(opp, corr, stage="proposal")
            cpq = self.api["cpq"]
            currency = account["currency"]
            lines = self.data.recurring_lines(currency, self.rng, self.rng.randint(1, 3))
            # One deal in five asks for more than the 20 % the deal desk approves on its own.
            discount = self.rng.choice([0, 0, 500, 1000, 2500])
            quote = cpq.call("POST", "/quotes", "/quotes", corr, body={
                "price_book_id": self.data.price_books[currency]["id"],
                "opportunity_id": opp["id"], "account_id": account["id"],
                "term_months": self.rng.choice([12, 12, 24, 36]), "discount_bps": discount,
                "lines": [{"product_id": ln["product_id"], "quantity": self.rng.randint(1, 50)}
                          for ln in lines],
            })  # fmt: skip
            quote = cpq.call("POST", f"/quotes/{quote['id']}/submit", "/quotes/[id]/submit", corr)
            if quote["status"] == "in_review":
                quote = cpq.call("POST", f"/quotes/{quote['id']}/approve", "/quotes/[id]/approve",
                                 corr, body={"approver": "deal-desk@example.com"})  # fmt: skip
            quote = cpq.call("POST", f"/quotes/{quote['id']}/accept", "/quotes/[id]/accept", corr)
            opp = self._move(opp, corr, stage="negotiation")
            self._move(opp, corr, stage="closed_won", amount_minor=quote["total_minor"],
                       primary_quote_id=quote["id"])  # fmt: skip
        except CallFailed:
            return

    @task(1)
    def lose_a_deal(self) -> None:
        corr = new_correlation_id("lost")
        try:
            _, opp = self._open_deal(corr)
            self._move(opp, corr, stage="closed_lost")
        except CallFailed:
            return

    @task(3)
    def review_pipeline(self) -> None:
        corr = new_correlation_id("pipeline")
        account = self.rng.choice(self.data.accounts)
        try:
            self.api["crm"].call("GET", f"/accounts/{account['id']}", "/accounts/[id]", corr)
            self.api["crm"].call("GET", "/opportunities", "/opportunities?account_id=[id]", corr,
                                 query={"account_id": account["id"], "limit": 20})  # fmt: skip
        except CallFailed:
            return


class QuotePricingUser(GoliveUser):
    """CPQ pricing traffic: draft quotes priced and re-priced (the "Calculate" button)."""

    weight = 3
    wait_time = think(0.5, 2)
    systems = ("cpq",)

    @task(3)
    def price_a_quote(self) -> None:
        corr = new_correlation_id("pricing")
        cpq = self.api["cpq"]
        account = self.rng.choice(self.data.quotable_accounts())
        currency = account["currency"]
        lines = self.data.recurring_lines(currency, self.rng, self.rng.randint(1, 4))
        try:
            quote = cpq.call("POST", "/quotes", "/quotes", corr, body={
                "price_book_id": self.data.price_books[currency]["id"],
                "account_id": account["id"], "term_months": 12,
                "lines": [{"product_id": ln["product_id"], "quantity": self.rng.randint(1, 20)}
                          for ln in lines],
            })  # fmt: skip
            repriced = [
                {
                    "product_id": ln["product_id"],
                    "quantity": self.rng.randint(5, 500),
                    "discount_bps": self.rng.choice([0, 500, 1000]),
                }
                for ln in lines
            ]
            quote = cpq.call("PATCH", f"/quotes/{quote['id']}", "/quotes/[id]", corr,
                             body={"lines": repriced, "term_months": 24},
                             if_match=quote["version"])  # fmt: skip
            cpq.call("GET", f"/quotes/{quote['id']}", "/quotes/[id]", corr)
        except CallFailed:
            return

    @task(1)
    def read_price_book(self) -> None:
        book = self.rng.choice(list(self.data.price_books.values()))
        try:
            self.api["cpq"].call("GET", f"/price-books/{book['id']}", "/price-books/[id]",
                                 new_correlation_id("catalog"))  # fmt: skip
        except CallFailed:
            return


class OrderDeskUser(GoliveUser):
    """ERP order entry: book, approve, fulfil, invoice and collect; look orders up."""

    weight = 2
    wait_time = think(1, 3)
    systems = ("erp",)

    def on_start(self) -> None:
        super().on_start()
        self.recent: list[Obj] = []

    @task(3)
    def book_an_order(self) -> None:
        corr = new_correlation_id("order")
        erp = self.api["erp"]
        customer = self.rng.choice(self.data.erp_customers)
        # Stay far inside the credit room: many users order for the same customer at once.
        budget = max(1, customer["credit_room_minor"] // 400)
        lines = self.data.order_lines(customer["currency"], self.rng, budget)
        try:
            order = erp.call("POST", "/sales-orders", "/sales-orders", corr, body={
                "customer_id": customer["id"], "lines": lines,
                "external_id": f"load-{uuid.uuid4().hex}", "memo": "quarter-end load test",
            })  # fmt: skip
            self.recent = [*self.recent[-19:], order]
            for action in ("approve", "fulfill"):
                erp.call("POST", f"/sales-orders/{order['id']}/{action}",
                         f"/sales-orders/[id]/{action}", corr)  # fmt: skip
            invoice = erp.call("POST", f"/sales-orders/{order['id']}/invoice",
                               "/sales-orders/[id]/invoice", corr,
                               body={"external_id": f"load-{uuid.uuid4().hex}"})  # fmt: skip
            erp.call("POST", "/receipts", "/receipts", corr, body={
                "customer_id": customer["id"], "amount_minor": invoice["amount_due_minor"],
                "applications": [{"ar_invoice_id": invoice["id"],
                                  "amount_minor": invoice["amount_due_minor"]}],
                "external_id": f"load-{uuid.uuid4().hex}",
            })  # fmt: skip
        except CallFailed:
            return

    @task(4)
    def look_up_orders(self) -> None:
        if not self.recent:
            return
        corr = new_correlation_id("lookup")
        order = self.rng.choice(self.recent)
        erp = self.api["erp"]
        try:
            erp.call("GET", f"/sales-orders/{order['id']}", "/sales-orders/[id]", corr)
            erp.call("GET", "/sales-orders", "/sales-orders?external_id=[id]", corr,
                     query={"external_id": order["external_id"], "limit": 1})  # fmt: skip
            erp.call("GET", f"/customers/{order['customer_id']}", "/customers/[id]", corr)
        except CallFailed:
            return


class UsageMeterUser(GoliveUser):
    """A metering pipeline posting usage to billing for the current period."""

    weight = 4
    wait_time = think(0.2, 1)
    systems = ("billing",)

    def on_start(self) -> None:
        super().on_start()
        self.subscription: Obj | None = None
        if self.data.subscriptions:
            self.subscription = self.rng.choice(self.data.subscriptions)
            return
        # No subscription in the data is in its current period (the data is older than
        # today): sign a usage customer up, as a new customer would, and meter that one.
        self.subscription = self._sign_up()

    def _sign_up(self) -> Obj | None:
        if not self.data.usage_prices:
            raise DataProblem("the data has no usage-priced product in a USD price book")
        billing = self.api["billing"]
        corr = new_correlation_id("signup")
        account = self.rng.choice(self.data.accounts)
        sku, price = self.rng.choice(sorted(self.data.usage_prices.items()))
        try:
            customer = billing.call("POST", "/customers", "/customers", corr, body={
                "name": account["name"][:255],
                "email": f"billing+{uuid.uuid4().hex[:8]}@example.com",
                "currency": "USD", "crm_account_id": account["id"],
                "payment_method": "4242424242424242",
            })  # fmt: skip
            return billing.call("POST", "/subscriptions", "/subscriptions", corr, body={
                "customer_id": customer["id"], "currency": "USD",
                "items": [{"sku": sku, "quantity": 1, "unit_amount_minor": price,
                           "usage_based": True}],
            })  # fmt: skip
        except CallFailed:
            return None

    @task(10)
    def post_usage(self) -> None:
        sub = self.subscription
        if sub is None:
            return
        item = next(i for i in sub["items"] if i.get("usage_based"))
        try:
            self.api["billing"].call("POST", "/usage-records", "/usage-records",
                                     new_correlation_id("usage"), body={
                "subscription_id": sub["id"], "subscription_item_id": item["id"],
                "quantity": self.rng.randint(1, 500), "external_id": f"load-{uuid.uuid4().hex}",
            })  # fmt: skip
        except CallFailed:
            return

    @task(1)
    def check_subscription(self) -> None:
        if self.subscription is None:
            return
        try:
            sub_id = self.subscription["id"]
            self.api["billing"].call("GET", f"/subscriptions/{sub_id}", "/subscriptions/[id]",
                                     new_correlation_id("usage"))  # fmt: skip
        except CallFailed:
            return


class SupportAgentUser(GoliveUser):
    """Agents taking cases through new → open → pending → solved, and triaging queues."""

    weight = 2
    wait_time = think(1, 3)
    systems = ("support",)

    @task(3)
    def work_a_case(self) -> None:
        corr = new_correlation_id("case")
        support = self.api["support"]
        org = self.rng.choice(self.data.organizations)
        try:
            case = support.call("POST", "/cases", "/cases", corr, body={
                "organization_id": org["id"],
                "subject": self.rng.choice(["Invoice total looks wrong", "Cannot add seats",
                                            "Usage not showing", "SSO login fails"]),
                "description": "Raised during the quarter-end load test.",
                "requester_email": f"user@{org.get('domain') or 'example.com'}",
                "priority": self.rng.choice(["low", "normal", "normal", "high", "urgent"]),
            })  # fmt: skip
            reply = {"author": "agent@example.com", "author_role": "agent",
                     "body": "Looking into it.", "public": True}  # fmt: skip
            case = support.call(
                "POST", f"/cases/{case['id']}/comments", "/cases/[id]/comments", corr, body=reply
            )
            for status in ("pending", "solved"):
                case = support.call("PATCH", f"/cases/{case['id']}", "/cases/[id]", corr,
                                    body={"status": status}, if_match=case["version"])  # fmt: skip
        except CallFailed:
            return

    @task(2)
    def triage(self) -> None:
        corr = new_correlation_id("triage")
        org = self.rng.choice(self.data.organizations)
        support = self.api["support"]
        try:
            support.call(
                "GET",
                "/cases",
                "/cases?organization_id=[id]",
                corr,
                query={"organization_id": org["id"], "status": "open", "limit": 20},
            )
            support.call("GET", f"/organizations/{org['id']}", "/organizations/[id]", corr)
        except CallFailed:
            return


# -- process-wide hooks -------------------------------------------------------------------


def _check_data(environment: Environment, **_kwargs: Any) -> None:
    """Fail at start, with one line, when the data the users pick from is missing."""
    if _settings_problem:
        sys.stderr.write(f"golive load: {_settings_problem}\n")
        raise SystemExit(2)
    if isinstance(environment.runner, MasterRunner):
        return  # the master runs no users; over several machines it may hold no data
    try:
        shared_data()
    except DataProblem as exc:
        sys.stderr.write(f"golive load: {exc}\n")
        raise SystemExit(2) from None


events.init.add_listener(_check_data)  # type: ignore[no-untyped-call]
