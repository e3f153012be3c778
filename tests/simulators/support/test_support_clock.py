"""Support's jobs on the clock: SLA breaches at the instant a target passes, entitlement expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulators.kit.clock import format_instant, parse_instant

pytestmark = pytest.mark.anyio


async def test_a_breach_is_marked_the_instant_its_target_passes(support):
    org = await support.org()
    case = await support.case(org["id"], "urgent")
    moved = await support.call("POST", "/_sim/clock/advance", 200, json={"seconds": 2 * 3600})
    assert moved["ran"]["runs"]["sla_breach"] == 1
    events = await support.call("GET", "/events", 200, params={"type": "case.sla_breached"})
    [breach] = events["data"]
    due = parse_instant(case["first_response_due_at"])
    assert breach["occurred_at"] == format_instant(due + timedelta(microseconds=1))
    assert breach["data"]["updated_at"] == breach["occurred_at"]
    # The resolution target is the next one due; a breached case has no running deadline.
    assert moved["next_due_at"] is None or moved["next_job"] != "sla_breach"


async def test_an_entitlement_expires_at_its_end_date_and_a_case_after_is_flagged(support):
    org = await support.org()
    today = support.state.today()
    end = (parse_instant(f"{today}T00:00:00Z") + timedelta(days=3)).date().isoformat()
    ent = await support.entitlement(org["id"], "premium", start_date=today, end_date=end)
    covered = await support.case(org["id"])
    assert covered["flags"] == []
    clock = await support.call("GET", "/_sim/clock", 200)
    first_due = parse_instant(covered["first_response_due_at"]) + timedelta(microseconds=1)
    assert (clock["next_due_at"], clock["next_job"]) == (format_instant(first_due), "sla_breach")
    await support.call("POST", f"/cases/{covered['id']}/comments", 201, json={
        "author": "a", "author_role": "agent", "body": "on it", "public": True})  # fmt: skip
    await support.call("PATCH", f"/cases/{covered['id']}", 200, json={"status": "solved"})
    moved = await support.call("POST", "/_sim/clock/advance", 200, json={"seconds": 4 * 86_400})
    assert moved["ran"]["runs"] == {"entitlement_expiry": 1}
    expired = await support.call("GET", f"/entitlements/{ent['id']}", 200)
    assert (expired["status"], expired["updated_at"]) == ("expired", f"{end}T00:00:00.000000Z")
    late = await support.case(org["id"])
    assert (late["flags"], late["entitlement_id"]) == (["no_active_entitlement"], None)
