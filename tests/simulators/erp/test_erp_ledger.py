"""The general ledger: balanced entries only, closed periods refuse postings, voids reverse."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio

_BALANCED = [{"account": "6000", "debit_minor": 700}, {"account": "1000", "credit_minor": 700}]


async def _entry_count(erp) -> int:
    return len((await erp.call("GET", "/journal-entries", 200))["data"])


async def test_periods_open_on_first_posting_and_close_and_reopen_with_events(erp):
    await erp.refused("GET", "/periods/2025-03", 404, "not_found")
    customer = await erp.customer()
    await erp.invoice(customer["id"], 100, posting_date="2025-03-10")
    period = await erp.call("GET", "/periods/2025-03", 200)
    assert (period["id"], period["name"], period["status"]) == ("per_2025_03", "2025-03", "open")
    closed = await erp.call("POST", "/periods/2025-03/close", 200)
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    await erp.refused("POST", "/periods/2025-03/close", 409, "invalid_transition")
    reopened = await erp.call("POST", "/periods/2025-03/reopen", 200)
    assert (reopened["status"], reopened["closed_at"]) == ("open", None)
    await erp.refused("POST", "/periods/2025-03/reopen", 409, "invalid_transition")
    assert (await erp.event_types())[-2:] == ["period.closed", "period.reopened"]
    listed = await erp.call("GET", "/periods", 200, params={"status": "open"})
    assert [p["name"] for p in listed["data"]] == ["2025-03"]
    await erp.refused("POST", "/periods/2025-13/close", 422, "validation_failed")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/invoices", {"subtotal_minor": 100, "posting_date": "2025-06-30"}),
        ("/receipts", {"amount_minor": 100, "received_date": "2025-06-01"}),
        ("/journal-entries", {"currency": "USD", "posting_date": "2025-06-15", "lines": _BALANCED}),
    ],
)
async def test_posting_into_a_closed_period_is_refused(erp, path, body):
    customer = await erp.customer()
    await erp.call("POST", "/periods/2025-06/close", 200)
    if path != "/journal-entries":
        body = {"customer_id": customer["id"], **body}
    problem = await erp.refused("POST", path, 409, "period_closed", json=body)
    assert "2025-06" in problem["detail"]
    assert await _entry_count(erp) == 0
    await erp.call("POST", "/periods/2025-06/reopen", 200)
    await erp.call("POST", path, 201, json=body)


async def test_invoicing_an_order_while_todays_period_is_closed_changes_nothing(erp):
    customer = await erp.customer()
    await erp.item()
    order = await erp.order(customer["id"])
    await erp.act(order["id"], "approve", "fulfill")
    await erp.call("POST", f"/periods/{erp.this_period}/close", 200)
    await erp.refused("POST", f"/sales-orders/{order['id']}/invoice", 409, "period_closed")
    assert (await erp.call("GET", f"/sales-orders/{order['id']}", 200))["status"] == "fulfilled"
    assert (await erp.call("GET", "/invoices", 200))["data"] == []
    assert await _entry_count(erp) == 0


async def test_unbalanced_manual_entry_is_refused_and_a_balanced_one_posts(erp):
    lines = [{"account": "6000", "debit_minor": 700}, {"account": "1000", "credit_minor": 699}]
    problem = await erp.refused(
        "POST",
        "/journal-entries",
        422,
        "unbalanced_entry",
        json={"currency": "USD", "lines": lines},
    )
    assert problem["errors"][0]["field"] == "lines"
    assert await _entry_count(erp) == 0
    entry = await erp.call(
        "POST",
        "/journal-entries",
        201,
        json={"currency": "USD", "lines": _BALANCED, "memo": "rent"},
    )
    assert (entry["source_type"], entry["period"], entry["legal_entity"]) == (
        "manual",
        erp.this_period,
        "US01",
    )
    assert (await erp.event_types())[-1] == "journal_entry.posted"
    assert await erp.balances() == {"1000": -700, "6000": 700}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {
                "lines": [
                    {"account": "9999", "debit_minor": 1},
                    {"account": "1000", "credit_minor": 1},
                ]
            },
            "unknown_account",
        ),
        (
            {
                "lines": [
                    {"account": "6000", "debit_minor": 1, "credit_minor": 1},
                    {"account": "1000"},
                ]
            },
            "invalid_journal_line",
        ),
        ({"legal_entity": "ZZ01", "lines": _BALANCED}, "unknown_legal_entity"),
        ({"currency": "XXX", "lines": _BALANCED}, "unsupported_currency"),
    ],
)
async def test_malformed_manual_entries_are_refused(erp, body, code):
    await erp.refused("POST", "/journal-entries", 422, code, json={"currency": "USD", **body})


async def test_void_posts_a_reversing_entry_and_clears_the_receivable(erp):
    customer = await erp.customer(legal_entity="GB01")
    invoice = await erp.invoice(customer["id"], 1_000, tax_minor=200)
    voided = await erp.call("POST", f"/invoices/{invoice['id']}/void", 200)
    assert (voided["status"], voided["amount_due_minor"]) == ("void", 0)
    entries = await erp.call("GET", "/journal-entries", 200, params={"source_id": invoice["id"]})
    original, reversal = entries["data"]
    assert {(ln["account"], ln["debit_minor"], ln["credit_minor"]) for ln in reversal["lines"]} == {
        (ln["account"], ln["credit_minor"], ln["debit_minor"]) for ln in original["lines"]
    }
    assert set((await erp.balances()).values()) == {0}
    assert (await erp.event_types())[-1] == "ar_invoice.voided"
    await erp.refused("POST", f"/invoices/{invoice['id']}/void", 409, "invalid_transition")


async def test_void_of_an_invoice_in_a_closed_period_reverses_today(erp):
    customer = await erp.customer()
    invoice = await erp.invoice(customer["id"], 1_000, posting_date="2025-01-31")
    await erp.call("POST", "/periods/2025-01/close", 200)
    await erp.call("POST", f"/invoices/{invoice['id']}/void", 200)
    entries = await erp.call("GET", "/journal-entries", 200, params={"source_id": invoice["id"]})
    assert [e["period"] for e in entries["data"]] == ["2025-01", erp.this_period]
    assert await erp.balances(period="2025-01") == {"1200": 1_000, "4000": -1_000}


async def test_void_of_an_invoice_with_payments_applied_is_refused(erp):
    customer = await erp.customer()
    partly = await erp.invoice(customer["id"], 1_000)
    fully = await erp.invoice(customer["id"], 500)
    await erp.receipt(customer["id"], 600, (partly["id"], 100), (fully["id"], 500))
    await erp.refused("POST", f"/invoices/{partly['id']}/void", 409, "invoice_has_payments")
    await erp.refused("POST", f"/invoices/{fully['id']}/void", 409, "invalid_transition")


async def test_trial_balance_keeps_legal_entities_and_currencies_apart(erp):
    us = await erp.customer()
    de = await erp.customer(legal_entity="DE01")
    await erp.invoice(us["id"], 1_000)
    await erp.invoice(de["id"], 2_000, tax_minor=380)
    tb = await erp.trial_balance()
    assert tb["balanced"]
    assert [(t["legal_entity"], t["currency"], t["debit_minor"]) for t in tb["totals"]] == [
        ("DE01", "EUR", 2_380),
        ("US01", "USD", 1_000),
    ]
    only_de = await erp.trial_balance(legal_entity="DE01")
    assert {row["legal_entity"] for row in only_de["accounts"]} == {"DE01"}


async def test_invoice_paid_in_full_closes_its_order_once_all_its_invoices_are_paid(erp):
    customer = await erp.customer()
    await erp.item()
    order = await erp.order(customer["id"], 1_000)
    await erp.act(order["id"], "approve", "fulfill")
    first = await erp.invoice(customer["id"], 500, sales_order_id=order["id"])
    second = await erp.invoice(customer["id"], 500, sales_order_id=order["id"])
    assert (await erp.call("GET", f"/sales-orders/{order['id']}", 200))["status"] == "invoiced"
    await erp.receipt(customer["id"], 500, (first["id"], 500))
    assert (await erp.call("GET", f"/sales-orders/{order['id']}", 200))["status"] == "invoiced"
    await erp.receipt(customer["id"], 500, (second["id"], 500))
    assert (await erp.call("GET", f"/sales-orders/{order['id']}", 200))["status"] == "closed"
