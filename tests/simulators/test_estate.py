"""The pytest plugin's fixtures, used the way a team's own suite would use them."""

from __future__ import annotations


def test_estate_fixture_serves_all_five_systems_on_loopback(golive):
    assert sorted(golive.urls) == ["billing", "cpq", "crm", "erp", "support"]
    assert all(url.startswith("http://127.0.0.1:") for url in golive.urls.values())


def test_client_fixture_is_signed_in_and_creates_objects(golive_client):
    crm = golive_client("crm")
    response = crm.post("/accounts", json={"name": "Acme"}, headers={"X-Correlation-Id": "t-1"})
    assert response.status_code == 201
    assert response.headers["x-correlation-id"] == "t-1"
    assert crm.get("/accounts").json()["data"][0]["name"] == "Acme"


def test_each_test_starts_from_an_empty_estate(golive_client):
    # Runs after the test above in file order: its account must be gone.
    assert golive_client("crm").get("/accounts").json()["data"] == []


def test_clock_fixture_freezes_and_advances_every_simulator(golive, golive_clock):
    import httpx

    golive_clock.freeze("2027-01-01T00:00:00Z")
    golive_clock.advance(days=31)
    for url in golive.urls.values():
        clock = httpx.get(f"{url}/_sim/clock").json()
        assert clock == {"now": "2027-02-01T00:00:00.000000Z", "frozen": True}
