from __future__ import annotations

import pytest

from lifecycle.entities import model_for
from tests.simulators.support.conftest import minutes_between

pytestmark = pytest.mark.anyio


async def test_case_lifecycle_from_new_to_closed_within_premium_sla(support):
    org = await support.org(external_id="acc_1", crm_account_id="acc_1", domain="acme.test")
    ent = await support.entitlement(org["id"], "premium", subscription_id="sub_1")
    case = await support.case(org["id"], "urgent", external_id="zd-1")
    assert case["status"] == "new"
    assert case["entitlement_id"] == ent["id"]
    assert case["flags"] == []
    # Premium halves the standard urgent targets of 60 and 1440 minutes.
    assert minutes_between(case["created_at"], case["first_response_due_at"]) == 30
    assert minutes_between(case["created_at"], case["resolution_due_at"]) == 720
    await support.advance(10)
    replied = await support.reply(case["id"])
    assert replied["status"] == "open"
    assert replied["first_responded_at"] is not None
    assert [c["id"] for c in replied["comments"]] == [f"{case['id']}-c1"]
    await support.call("PATCH", f"/cases/{case['id']}", 200, json={"status": "pending"})
    reopened = await support.reply(case["id"], role="end_user")
    assert reopened["status"] == "open"
    solved = await support.call("PATCH", f"/cases/{case['id']}", 200, json={"status": "solved"})
    assert solved["solved_at"] is not None
    closed = await support.call("PATCH", f"/cases/{case['id']}", 200, json={"status": "closed"})
    assert closed["closed_at"] is not None
    assert closed["sla_breached"] is False
    assert await support.event_types(case["id"]) == [
        "case.created",
        "case.updated", "case.status_changed",  # agent reply: new -> open
        "case.status_changed",  # pending
        "case.updated", "case.status_changed",  # requester reply: pending -> open
        "case.status_changed", "case.status_changed",  # solved, closed
    ]  # fmt: skip


async def test_case_without_active_entitlement_is_accepted_but_flagged(support):
    org = await support.org()
    case = await support.case(org["id"], "low")
    assert case["flags"] == ["no_active_entitlement"]
    assert case["entitlement_id"] is None
    # No entitlement: the standard policy, low = 1440 / 14400 minutes.
    assert minutes_between(case["created_at"], case["first_response_due_at"]) == 1_440
    ent = await support.entitlement(org["id"])
    await support.call("POST", f"/entitlements/{ent['id']}/suspend", 200)
    suspended = await support.case(org["id"])
    assert suspended["flags"] == ["no_active_entitlement"]


async def test_case_links_the_best_entitlement_in_force(support):
    org = await support.org()
    await support.entitlement(org["id"], "standard")
    enterprise = await support.entitlement(org["id"], "enterprise")
    await support.entitlement(org["id"], "enterprise", start_date="2099-01-01")
    case = await support.case(org["id"])
    assert case["entitlement_id"] == enterprise["id"]


async def test_unanswered_case_is_breached_once_the_clock_passes_its_first_response_target(support):
    org = await support.org()
    case = await support.case(org["id"], "normal")  # standard normal: first reply in 480 min
    await support.advance(480)
    assert (await support.call("GET", f"/cases/{case['id']}", 200))["sla_breached"] is False
    await support.advance(1)
    breached = await support.call("GET", f"/cases/{case['id']}", 200)
    assert breached["sla_breached"] is True
    await support.call("GET", f"/cases/{case['id']}", 200)
    assert (await support.event_types(case["id"])).count("case.sla_breached") == 1


async def _breached(support) -> set[str]:
    page = await support.call("GET", "/cases", 200, params={"sla_breached": "true"})
    return {c["id"] for c in page["data"]}


async def test_moving_the_clock_marks_overdue_cases_and_spares_answered_ones(support):
    org = await support.org()
    late = await support.case(org["id"], "urgent")
    answered = await support.case(org["id"], "urgent")
    later = await support.case(org["id"], "low")
    await support.reply(answered["id"])
    await support.advance(61)
    assert await _breached(support) == {late["id"]}
    assert support.state.check_sla_breaches() == []  # the clock move ran the check
    # Answered in time, the urgent case still had 1440 minutes to resolution; the low one
    # 1440 minutes to its first reply.
    await support.advance(1_379)
    assert await _breached(support) == {late["id"]}
    await support.advance(2)
    assert await _breached(support) == {late["id"], answered["id"], later["id"]}


async def test_check_sla_breaches_marks_cases_whose_target_passed_in_real_time(support):
    org = await support.org()
    case = await support.case(org["id"], "urgent")
    support.state.clock.advance(61 * 60)  # as real time passing: no control-plane move
    assert support.state.check_sla_breaches() == [case["id"]]
    assert support.state.check_sla_breaches() == []


async def test_reading_a_case_past_its_target_does_not_change_it(support):
    org = await support.org()
    case = await support.case(org["id"], "urgent")
    support.state.clock.advance(61 * 60)  # the target passed, no check has run yet
    before = await support.call("GET", "/_sim/export", 200)
    read = await support.call("GET", f"/cases/{case['id']}", 200)
    listed = await support.call("GET", "/cases", 200)
    assert read["sla_breached"] is False
    assert read["version"] == case["version"]
    assert listed["data"] == [read]
    after = await support.call("GET", "/_sim/export", 200)
    assert after["objects"] == before["objects"]
    assert after["events"] == before["events"]
    # The next change to the case brings it up to date first.
    replied = await support.reply(case["id"])
    assert replied["sla_breached"] is True


async def test_late_reply_and_late_solve_record_a_breach(support):
    org = await support.org()
    case = await support.case(org["id"], "high")  # 240 / 4320 minutes
    await support.advance(300)
    replied = await support.reply(case["id"])
    assert replied["sla_breached"] is True
    assert replied["first_responded_at"] is not None
    other = await support.case(org["id"], "high")
    await support.reply(other["id"])
    await support.advance(4_321)
    solved = await support.call("PATCH", f"/cases/{other['id']}", 200, json={"status": "solved"})
    assert solved["sla_breached"] is True
    assert solved["status"] == "solved"


async def test_solved_case_is_not_breached_later(support):
    org = await support.org()
    case = await support.case(org["id"], "urgent")
    await support.reply(case["id"])
    await support.call("PATCH", f"/cases/{case['id']}", 200, json={"status": "solved"})
    await support.advance(10_000)
    assert support.state.check_sla_breaches() == []
    assert (await support.call("GET", f"/cases/{case['id']}", 200))["sla_breached"] is False


async def test_priority_change_reapplies_the_sla_policy_from_creation(support):
    org = await support.org()
    case = await support.case(org["id"], "low")
    await support.advance(90)
    r = await support.c.patch(
        f"/cases/{case['id']}", json={"priority": "urgent"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert minutes_between(case["created_at"], updated["first_response_due_at"]) == 60
    assert updated["sla_breached"] is True  # 90 minutes in, the urgent target has passed
    await support.refused(
        "PATCH", f"/cases/{case['id']}", 412, "precondition_failed",
        json={"subject": "x"}, headers={"If-Match": '"1"'},
    )  # fmt: skip


async def test_private_note_is_not_a_first_response(support):
    org = await support.org()
    case = await support.case(org["id"])
    noted = await support.reply(case["id"], public=False)
    assert noted["first_responded_at"] is None
    assert noted["status"] == "new"


async def test_closed_case_cannot_change(support):
    org = await support.org()
    case = await support.case(org["id"])
    await support.call("PATCH", f"/cases/{case['id']}", 200, json={"status": "solved"})
    await support.call("PATCH", f"/cases/{case['id']}", 200, json={"status": "closed"})
    url = f"/cases/{case['id']}"
    await support.refused("PATCH", url, 409, "case_closed", json={"subject": "more"})
    await support.refused("PATCH", url, 409, "invalid_transition", json={"status": "open"})
    await support.refused(
        "POST", f"{url}/comments", 409, "case_closed",
        json={"author": "x", "author_role": "end_user", "body": "still broken"},
    )  # fmt: skip


async def test_case_status_moves_follow_the_case_machine(support):
    org = await support.org()
    case = await support.case(org["id"])
    await support.refused(
        "PATCH", f"/cases/{case['id']}", 409, "invalid_transition", json={"status": "closed"}
    )
    solved = await support.call("PATCH", f"/cases/{case['id']}", 200, json={"status": "solved"})
    reopened = await support.reply(case["id"], role="end_user")
    assert reopened["status"] == "open"
    assert solved["solved_at"] is not None
    assert reopened["solved_at"] is None


async def test_case_for_unknown_organization_is_refused(support):
    await support.refused(
        "POST", "/cases", 422, "unknown_organization",
        json={"organization_id": "org_nope", "subject": "x"},
    )  # fmt: skip


async def test_cases_filter_by_external_id_and_status(support):
    org = await support.org()
    mine = await support.case(org["id"], external_id="zd-7")
    await support.case(org["id"], external_id="zd-8")
    page = await support.call("GET", "/cases", 200, params={"external_id": "zd-7"})
    assert [c["id"] for c in page["data"]] == [mine["id"]]
    await support.reply(mine["id"])
    page = await support.call("GET", "/cases", 200, params={"status": "open"})
    assert [c["id"] for c in page["data"]] == [mine["id"]]


async def test_every_exported_object_validates_and_export_seed_round_trips(support):
    org = await support.org(external_id="acc_1")
    ent = await support.entitlement(org["id"], "premium")
    await support.call("POST", f"/entitlements/{ent['id']}/suspend", 200)
    await support.call("POST", f"/entitlements/{ent['id']}/reactivate", 200)
    done = await support.case(org["id"], "urgent")
    await support.reply(done["id"])
    await support.call("PATCH", f"/cases/{done['id']}", 200, json={"status": "solved"})
    waiting = await support.case(org["id"], "urgent")
    exported = (await support.call("GET", "/_sim/export", 200))["objects"]
    assert {t for t, objs in exported.items() if objs} == {"organization", "entitlement", "case"}
    for object_type, objects in exported.items():
        for obj in objects:
            model_for(object_type).model_validate(obj)
    await support.call("POST", "/_sim/reset", 200)
    await support.call("POST", "/_sim/clock/freeze", 200, json={})
    assert not any((await support.call("GET", "/_sim/export", 200))["objects"].values())
    await support.call("POST", "/_sim/seed", 200, json={"objects": exported})
    assert (await support.call("GET", "/_sim/export", 200))["objects"] == exported
    # Seeded cases keep their timers: the unanswered urgent one breaches on the clock.
    await support.advance(61)
    assert await _breached(support) == {waiting["id"]}
    await support.refused("POST", "/organizations", 409, "duplicate_name", json={"name": "Acme"})
