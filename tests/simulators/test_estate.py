"""The pytest plugin's fixtures, used the way a team's own suite would use them."""

from __future__ import annotations

import pytest


def test_estate_fixture_serves_all_five_systems_on_loopback(golive):
    assert sorted(golive.urls) == ["billing", "cpq", "crm", "erp", "support"]
    assert all(url.startswith("http://127.0.0.1:") for url in golive.urls.values())


def test_client_fixture_is_signed_in_and_creates_objects(golive_client):
    crm = golive_client("crm")
    response = crm.post("/accounts", json={"name": "Acme"}, headers={"X-Correlation-Id": "t-1"})
    assert response.status_code == 201
    assert response.headers["x-correlation-id"] == "t-1"
    assert crm.get("/accounts").json()["data"][0]["name"] == "Acme"


@pytest.fixture
def left_over_account(golive_estate):
    """An account left behind by "an earlier test", whatever order the tests run in."""
    with golive_estate.client("crm") as crm:
        assert crm.post("/accounts", json={"name": "Left over"}).status_code == 201


def test_each_test_starts_from_an_empty_estate(left_over_account, golive_client):
    # Fixtures of one scope are set up in argument order: the account exists before
    # the golive fixture resets the estate for this test.
    assert golive_client("crm").get("/accounts").json()["data"] == []


def test_clock_fixture_freezes_and_advances_every_simulator(golive, golive_clock):
    import httpx

    golive_clock.freeze("2027-01-01T00:00:00Z")
    golive_clock.advance(days=31)
    for url in golive.urls.values():
        clock = httpx.get(f"{url}/_sim/clock").json()
        assert clock == {"now": "2027-02-01T00:00:00.000000Z", "frozen": True}


def _tiny_middleware(crm, erp) -> None:
    """Stands in for a team's middleware: closed-won deals become ERP orders."""
    customer = erp.post("/customers", json={"name": "Acme", "external_id": "acc"}).json()
    erp.post("/items", json={"sku": "SEAT", "name": "Seat"})
    events = crm.get("/events", params={"type": "opportunity.closed_won"}).json()["data"]
    for event in events:
        opp = event["data"]
        line = {"sku": "SEAT", "quantity": 1, "unit_price_minor": opp["amount_minor"]}
        erp.post(
            "/sales-orders",
            json={"customer_id": customer["id"], "currency": opp["currency"],
                  "external_id": opp["id"], "lines": [line]},
            headers={"X-Correlation-Id": event["correlation_id"] or ""},
        )  # fmt: skip


def test_readme_example_a_closed_won_deal_becomes_one_erp_order(golive_client, golive_clock):
    crm, erp = golive_client("crm"), golive_client("erp")
    account = crm.post("/accounts", json={"name": "Acme"}).json()
    opp = crm.post(
        "/opportunities",
        json={"account_id": account["id"], "name": "Deal", "amount_minor": 1_200_000},
    ).json()
    crm.patch(
        f"/opportunities/{opp['id']}",
        json={"stage": "closed_won", "primary_quote_id": "q_1"},
        headers={"X-Correlation-Id": "deal-1"},
    )
    golive_clock.advance(hours=1)
    _tiny_middleware(crm, erp)
    orders = erp.get("/sales-orders", params={"external_id": opp["id"]}).json()["data"]
    assert len(orders) == 1
    assert orders[0]["total_minor"] == 1_200_000
    assert orders[0]["correlation_id"] == "deal-1"
