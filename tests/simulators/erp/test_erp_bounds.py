"""Dates and periods in the ERP stay within the range every simulator accepts."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"])
async def test_posting_dates_outside_2000_to_2100_are_refused(erp, day):
    customer = await erp.customer()
    body = {"customer_id": customer["id"], "subtotal_minor": 100, "posting_date": day}
    problem = await erp.refused("POST", "/invoices", 422, "validation_failed", json=body)
    assert [e["field"] for e in problem["errors"]] == ["body.posting_date"]
    entry = {"currency": "USD", "posting_date": day, "lines": [
        {"account": "1000", "debit_minor": 5}, {"account": "3000", "credit_minor": 5}]}  # fmt: skip
    await erp.refused("POST", "/journal-entries", 422, "validation_failed", json=entry)


@pytest.mark.parametrize("name", ["0000-01", "1999-12", "2101-01", "9999-12", "2026-13"])
async def test_periods_outside_2000_to_2100_are_refused(erp, name):
    await erp.refused("POST", f"/periods/{name}/close", 422, "validation_failed")
    await erp.refused("GET", "/journal-entries", 422, "validation_failed", params={"period": name})
    r = await erp.c.post(
        "/_sim/provider-states", json={"state": "the period is closed", "params": {"name": name}}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_provider_state_params"


async def test_the_edges_of_the_range_are_accepted(erp):
    await erp.call("POST", "/periods/2000-01/close", 200)
    await erp.call("POST", "/periods/2100-12/close", 200)
