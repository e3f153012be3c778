"""The parametrised Pact provider states (docs/provider-states.md): what each one makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.registry import SYSTEMS
from simulators.testing import sim_client

pytestmark = pytest.mark.anyio


async def _state(c, state, **params):
    r = await c.post("/_sim/provider-states", json={"state": state, "params": params})
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_unknown_state_is_404_and_the_empty_state_is_a_no_op():
    async with sim_client("crm") as c:
        r = await c.post("/_sim/provider-states", json={"state": "no such state", "params": {}})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "unknown_provider_state"
        r = await c.post("/_sim/provider-states", json={"state": "", "params": {}})
        assert (r.status_code, r.json()) == (200, {})


async def test_teardown_resets_the_simulator():
    async with sim_client("crm") as c:
        await _state(c, "an account {account_id} exists", account_id="acc_pact1")
        assert (await c.get("/accounts/acc_pact1")).status_code == 200
        r = await c.post(
            "/_sim/provider-states",
            json={"state": "an account {account_id} exists", "action": "teardown"},
        )
        assert r.status_code == 200
        assert (await c.get("/accounts/acc_pact1")).status_code == 404


async def test_wrong_params_are_422_naming_the_param():
    async with sim_client("cpq") as c:
        r = await c.post(
            "/_sim/provider-states",
            json={"state": "an accepted quote {quote_id} totalling {amount_minor} {currency}",
                  "params": {"quote_id": "q_1", "amount_minor": "12"}},
        )  # fmt: skip
        assert r.status_code == 422
        assert r.json()["code"] == "invalid_provider_state_params"
        assert r.json()["errors"][0]["field"] == "params.amount_minor"


@pytest.mark.parametrize("amount", [1_200_000, 1_000_001])
async def test_the_accepted_quote_totals_exactly_the_amount(amount):
    async with sim_client("cpq") as c:
        state = "an accepted quote {quote_id} totalling {amount_minor} {currency}"
        await _state(c, state, quote_id="q_pact", amount_minor=amount, currency="EUR")
        quote = (await c.get("/quotes/q_pact")).json()
        assert (quote["status"], quote["total_minor"], quote["currency"]) == (
            "accepted",
            amount,
            "EUR",
        )


async def test_the_next_request_is_rate_limited_once_with_retry_after():
    async with sim_client("crm") as c:
        await _state(c, "an account {account_id} exists", account_id="acc_pact1")
        state = "the next {method} {path} is rate limited"
        await _state(c, state, method="GET", path="/accounts/acc_pact1")
        await _state(c, state, method="GET", path="/accounts/acc_pact1")  # still once
        limited = await c.get("/accounts/acc_pact1")
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limit_exceeded"
        assert int(limited.headers["retry-after"]) >= 1
        assert (await c.get("/accounts/acc_pact1")).status_code == 200


async def test_the_won_state_emits_closed_won_with_the_primary_quote():
    async with sim_client("crm") as c:
        await _state(c, "an opportunity {opportunity_id} was won", opportunity_id="opp_pact1",
                     account_id="acc_pact1", quote_id="q_pact1")  # fmt: skip
        events = (await c.get("/events", params={"type": "opportunity.closed_won"})).json()
        (event,) = events["data"]
        assert event["data"]["id"] == "opp_pact1"
        assert (event["data"]["account_id"], event["data"]["primary_quote_id"]) == (
            "acc_pact1",
            "q_pact1",
        )


async def test_a_linked_erp_customer_takes_the_credit_limit_and_the_external_id():
    async with sim_client("erp") as c:
        state = "an ERP customer {customer_id} with external id {external_id} exists"
        await _state(c, state, customer_id="cust_a", external_id="acc_1")
        await _state(c, state, customer_id="cust_a", external_id="acc_1", credit_limit_minor=1)
        await _state(c, state, customer_id="cust_b", external_id="acc_1")
        found = (await c.get("/customers", params={"external_id": "acc_1"})).json()["data"]
        assert [cus["id"] for cus in found] == ["cust_b"]  # external ids are unique
        assert (await c.get("/customers/cust_a")).json()["credit_limit_minor"] == 1


@pytest.mark.parametrize(
    ("state", "event_type"),
    [
        ("an invoice {invoice_id} was finalized", "invoice.finalized"),
        ("a payment of invoice {invoice_id} succeeded", "payment.succeeded"),
        ("a subscription {subscription_id} was canceled", "subscription.canceled"),
        ("a subscription {subscription_id} was renewed", "subscription.renewed"),
    ],
)
async def test_the_billing_event_states_emit_their_event(state, event_type):
    async with sim_client("billing") as c:
        ids = await _state(c, state, subscription_id="sub_pact1", external_id="opp_pact1")
        assert ids["subscription_id"] == "sub_pact1"
        events = (await c.get("/events", params={"type": event_type})).json()["data"]
        assert events, event_type
        sub = (await c.get("/subscriptions/sub_pact1")).json()
        assert sub["external_id"] == "opp_pact1"


async def test_an_active_entitlement_for_a_subscription_is_found_by_its_external_id():
    async with sim_client("support") as c:
        state = "an active entitlement {entitlement_id} for subscription {subscription_id} exists"
        await _state(c, state, entitlement_id="ent_pact1", subscription_id="sub_pact1",
                     end_date="2091-01-01")  # fmt: skip
        found = (await c.get("/entitlements", params={"external_id": "sub_pact1"})).json()
        (ent,) = found["data"]
        assert (ent["id"], ent["status"], ent["end_date"]) == ("ent_pact1", "active", "2091-01-01")


@pytest.mark.parametrize("system", SYSTEMS)
async def test_docs_list_every_provider_state(system):
    page = (Path(__file__).resolve().parents[3] / "docs" / "provider-states.md").read_text()
    async with sim_client(system) as c:
        names = (await c.get("/_sim/provider-states")).json()["data"]
    missing = [name for name in names if f"`{name}`" not in page]
    assert not missing, f"docs/provider-states.md does not list {missing}"
