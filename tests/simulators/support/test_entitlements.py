from __future__ import annotations

import pytest

from simulators.kit.runtime import SimConfig
from simulators.testing import sim_client

pytestmark = pytest.mark.anyio


async def test_entitlement_suspends_reactivates_and_expires_with_events(support):
    org = await support.org()
    ent = await support.entitlement(org["id"], "enterprise", subscription_id="sub_9")
    assert ent["status"] == "active"
    assert ent["start_date"] == support.state.today()
    for action, status in (("suspend", "suspended"), ("reactivate", "active"),
                           ("expire", "expired")):  # fmt: skip
        moved = await support.call("POST", f"/entitlements/{ent['id']}/{action}", 200)
        assert moved["status"] == status
    assert await support.event_types(ent["id"]) == [
        "entitlement.created", "entitlement.activated", "entitlement.suspended",
        "entitlement.activated", "entitlement.expired",
    ]  # fmt: skip
    await support.refused(
        "POST", f"/entitlements/{ent['id']}/reactivate", 409, "invalid_transition"
    )
    # Only a new end date after today renews it; nothing else changes an expired one.
    for body in ({"support_tier": "premium"}, {"end_date": support.state.today()},
                 {"end_date": "2099-01-01", "support_tier": "premium"}):  # fmt: skip
        await support.refused(
            "PATCH", f"/entitlements/{ent['id']}", 409, "entitlement_expired", json=body
        )


async def test_a_new_end_date_renews_an_expired_entitlement(support):
    """A middleware that extends the entitlement on subscription.renewed comes a moment
    after support expired it at 00:00 of the same day: the extension renews it."""
    org = await support.org()
    ent = await support.entitlement(org["id"], "enterprise", subscription_id="sub_9")
    await support.call("POST", f"/entitlements/{ent['id']}/expire", 200)
    renewed = await support.call(
        "PATCH", f"/entitlements/{ent['id']}", 200, json={"end_date": "2099-01-01"}
    )
    assert (renewed["status"], renewed["end_date"]) == ("active", "2099-01-01")
    assert (await support.event_types(ent["id"]))[-3:] == [
        "entitlement.expired", "entitlement.updated", "entitlement.activated",
    ]  # fmt: skip
    case = await support.call(
        "POST", "/cases", 201, json={"organization_id": org["id"], "subject": "after renewal"}
    )
    assert case["entitlement_id"] == ent["id"]
    assert case["flags"] == []


async def test_entitlement_created_suspended_is_not_activated(support):
    org = await support.org()
    ent = await support.entitlement(org["id"], status="suspended")
    assert await support.event_types(ent["id"]) == ["entitlement.created"]


async def test_entitlement_for_unknown_organization_is_refused(support):
    await support.refused(
        "POST", "/entitlements", 422, "unknown_organization",
        json={"organization_id": "org_nope", "sku": "SUP"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("dates", "code"),
    [
        ({"start_date": "2030-02-01", "end_date": "2030-01-01"}, "invalid_period"),
        ({"start_date": "2001-01-01", "end_date": "2002-01-01"}, "end_date_in_past"),
    ],
)
async def test_entitlement_dates_are_checked(support, dates, code):
    org = await support.org()
    await support.refused(
        "POST", "/entitlements", 422, code,
        json={"organization_id": org["id"], "sku": "SUP", **dates},
    )  # fmt: skip


async def test_renewal_extends_an_entitlement_and_ended_ones_expire_on_their_end_date(support):
    org = await support.org()
    today = support.state.today()
    ent = await support.entitlement(org["id"], end_date="2099-01-01")
    short = await support.entitlement(org["id"], start_date=today, end_date=_plus_days(today, 2))
    renewed = await support.call(
        "PATCH", f"/entitlements/{ent['id']}", 200, json={"end_date": "2100-01-01"},
        headers={"If-Match": '"1"'},
    )  # fmt: skip
    assert renewed["end_date"] == "2100-01-01"
    assert "entitlement.updated" in await support.event_types(ent["id"])
    await support.advance(2 * 24 * 60)
    assert support.state.expire_ended_entitlements() == []  # the clock's job did it
    events = await support.call("GET", "/events", 200, params={"type": "entitlement.expired"})
    assert [(e["data"]["id"], e["occurred_at"]) for e in events["data"]] == [
        (short["id"], f"{_plus_days(today, 2)}T00:00:00.000000Z")
    ]
    page = await support.call(
        "GET", "/entitlements", 200, params={"organization_id": org["id"], "status": "active"}
    )
    assert [e["id"] for e in page["data"]] == [ent["id"]]


async def test_organization_names_are_unique_unless_switched_off(support):
    org = await support.org("Acme", external_id="acc_1")
    await support.refused("POST", "/organizations", 409, "duplicate_name", json={"name": "Acme"})
    page = await support.call("GET", "/organizations", 200, params={"external_id": "acc_1"})
    assert [o["id"] for o in page["data"]] == [org["id"]]
    async with sim_client("support", SimConfig(options={"unique_organization_names": False})) as c:
        for _ in range(2):
            assert (await c.post("/organizations", json={"name": "Acme"})).status_code == 201


@pytest.mark.parametrize(
    ("state", "keys"),
    [
        ("an organization exists", {"organization_id"}),
        ("an organization with an active entitlement exists", {"organization_id",
                                                               "entitlement_id"}),
        ("an open case exists", {"organization_id", "entitlement_id", "case_id"}),
    ],
)  # fmt: skip
async def test_provider_states_set_up_what_they_name(support, state, keys):
    r = await support.call("POST", "/_sim/provider-states", 200, json={"state": state})
    assert set(r) == keys
    if "case" in state:
        case = await support.call("GET", f"/cases/{r['case_id']}", 200)
        assert case["status"] == "open"
        assert case["entitlement_id"] == r["entitlement_id"]


async def test_provider_state_honours_a_named_case_id(support):
    body = {"state": "an open case exists", "params": {"id": "case_pact"}}
    assert (await support.call("POST", "/_sim/provider-states", 200, json=body))["case_id"] == (
        "case_pact"
    )
    case = await support.call("GET", "/cases/case_pact", 200)
    assert case["comments"][0]["id"] == "case_pact-c1"


def _plus_days(day: str, days: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()
