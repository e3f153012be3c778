from __future__ import annotations

import pytest

from lifecycle.entities import model_for
from lifecycle.events import EVENT_TYPES

pytestmark = pytest.mark.anyio


async def _order_to_cash(erp):
    customer = await erp.customer(
        legal_entity="DE01", external_id="crm-acc-1", crm_account_id="acc_1"
    )
    await erp.item("PLAT-STD")
    await erp.item("SVC-ONB", type="service", revenue_account="4100")
    order = await erp.call(
        "POST",
        "/sales-orders",
        201,
        json={
            "customer_id": customer["id"],
            "quote_id": "q_1",
            "opportunity_id": "opp_1",
            "external_id": "opp_1",
            "lines": [
                {"sku": "PLAT-STD", "quantity": 2, "unit_price_minor": 10_000},
                {"sku": "SVC-ONB", "quantity": 1, "unit_price_minor": 5_000},
            ],
        },
    )
    await erp.act(order["id"], "approve", "fulfill")
    invoice = await erp.call(
        "POST", f"/sales-orders/{order['id']}/invoice", 201, json={"external_id": "in_billing_1"}
    )
    receipt = await erp.receipt(
        customer["id"], invoice["total_minor"], (invoice["id"], invoice["total_minor"])
    )
    return customer, order, invoice, receipt


async def test_order_to_cash_closes_the_order_pays_the_invoice_and_balances_the_ledger(erp):
    customer, order, invoice, receipt = await _order_to_cash(erp)
    assert customer["currency"] == "EUR"  # DE01's functional currency
    assert order["status"] == "pending_approval"
    assert [line["amount_minor"] for line in order["lines"]] == [20_000, 5_000]
    assert order["subtotal_minor"] == 25_000
    assert order["tax_minor"] == 4_750  # German VAT, 19 %
    assert order["total_minor"] == 29_750
    assert order["order_date"] == erp.today

    assert invoice["sales_order_id"] == order["id"]
    assert invoice["posting_date"] == erp.today
    assert invoice["period"] == erp.this_period
    assert (invoice["subtotal_minor"], invoice["tax_minor"], invoice["total_minor"]) == (
        25_000,
        4_750,
        29_750,
    )
    entry = await erp.call("GET", f"/journal-entries/{invoice['journal_entry_id']}", 200)
    assert entry["legal_entity"] == "DE01"
    assert entry["source_id"] == invoice["id"]
    assert {(ln["account"], ln["debit_minor"], ln["credit_minor"]) for ln in entry["lines"]} == {
        ("1200", 29_750, 0),
        ("4000", 0, 20_000),
        ("4100", 0, 5_000),
        ("2200", 0, 4_750),
    }

    closed = await erp.call("GET", f"/sales-orders/{order['id']}", 200)
    paid = await erp.call("GET", f"/invoices/{invoice['id']}", 200)
    assert closed["status"] == "closed"
    assert (paid["status"], paid["amount_due_minor"]) == ("paid", 0)
    assert receipt["journal_entry_id"] is not None

    assert await erp.balances() == {
        "1000": 29_750,
        "1200": 0,
        "2200": -4_750,
        "4000": -20_000,
        "4100": -5_000,
    }
    tb = await erp.trial_balance(period=erp.this_period)
    assert tb["totals"] == [
        {
            "legal_entity": "DE01",
            "currency": "EUR",
            "debit_minor": 59_500,
            "credit_minor": 59_500,
            "balanced": True,
        }
    ]

    types = await erp.event_types()
    assert [t for t in types if not t.startswith("journal_entry")] == [
        "customer.created",
        "item.created",
        "item.created",
        "order.created",
        "order.booked",
        "order.fulfilled",
        "ar_invoice.posted",
        "order.invoiced",
        "receipt.applied",
        "ar_invoice.paid",
        "order.closed",
    ]
    assert types.count("journal_entry.posted") == 2
    assert set(types) <= set(EVENT_TYPES["erp"])


async def test_list_endpoints_filter_by_external_id_and_references(erp):
    customer, order, invoice, _ = await _order_to_cash(erp)
    for path, params, expected in (
        ("/customers", {"external_id": "crm-acc-1"}, customer["id"]),
        ("/customers", {"crm_account_id": "acc_1"}, customer["id"]),
        ("/sales-orders", {"external_id": "opp_1"}, order["id"]),
        ("/sales-orders", {"quote_id": "q_1", "status": "closed"}, order["id"]),
        ("/invoices", {"external_id": "in_billing_1"}, invoice["id"]),
        ("/invoices", {"sales_order_id": order["id"]}, invoice["id"]),
        ("/journal-entries", {"source_id": invoice["id"]}, invoice["journal_entry_id"]),
    ):
        body = await erp.call("GET", path, 200, params=params)
        assert [o["id"] for o in body["data"]] == [expected], (path, params)
    assert (await erp.call("GET", "/customers", 200, params={"external_id": "nope"}))["data"] == []
    item = await erp.call("GET", "/items/by-sku/SVC-ONB", 200)
    assert item["revenue_account"] == "4100"
    await erp.refused("GET", "/items/by-sku/NOPE", 404, "not_found")


async def test_lists_page_with_a_cursor(erp):
    for n in range(5):
        await erp.item(f"SKU-{n}")
    first = await erp.call("GET", "/items", 200, params={"limit": 3})
    rest = await erp.call("GET", "/items", 200, params={"limit": 3, "cursor": first["next_cursor"]})
    assert [i["sku"] for i in first["data"] + rest["data"]] == [f"SKU-{n}" for n in range(5)]
    assert rest["next_cursor"] is None


async def test_every_exported_object_validates_and_export_seed_round_trips(erp):
    await _order_to_cash(erp)
    await erp.call("POST", f"/periods/{erp.this_period}/close", 200)
    exported = (await erp.call("GET", "/_sim/export", 200))["objects"]
    assert {t for t, objs in exported.items() if objs} == {
        "erp_customer",
        "item",
        "sales_order",
        "ar_invoice",
        "receipt",
        "journal_entry",
        "accounting_period",
    }
    for object_type, objects in exported.items():
        for obj in objects:
            model_for(object_type).model_validate(obj)
    await erp.call("POST", "/_sim/reset", 200)
    assert all(
        not objs for objs in (await erp.call("GET", "/_sim/export", 200))["objects"].values()
    )
    await erp.call("POST", "/_sim/seed", 200, json={"objects": exported})
    assert (await erp.call("GET", "/_sim/export", 200))["objects"] == exported
    # Seeded state keeps its rules: the closed period still refuses postings.
    customer = exported["erp_customer"][0]
    await erp.refused(
        "POST",
        "/invoices",
        409,
        "period_closed",
        json={"customer_id": customer["id"], "subtotal_minor": 100},
    )


async def test_patch_customer_honours_if_match(erp):
    customer = await erp.customer()
    r = await erp.c.patch(
        f"/customers/{customer['id']}", json={"credit_limit_minor": 5}, headers={"If-Match": '"1"'}
    )
    assert (r.status_code, r.headers["etag"], r.json()["credit_limit_minor"]) == (200, '"2"', 5)
    await erp.refused(
        "PATCH",
        f"/customers/{customer['id']}",
        412,
        "precondition_failed",
        json={"name": "B"},
        headers={"If-Match": '"1"'},
    )
    assert (await erp.event_types())[-1] == "customer.updated"


@pytest.mark.parametrize(
    ("state", "params", "keys"),
    [
        ("a customer exists", {"id": "cust_pact", "credit_limit_minor": 500}, {"customer_id"}),
        ("an item exists", {"sku": "PACT-1"}, {"item_id", "sku"}),
        ("a booked sales order exists", {"id": "so_pact"}, {"sales_order_id", "customer_id"}),
        ("an open AR invoice exists", {"id": "inv_pact"}, {"ar_invoice_id", "customer_id"}),
        ("the period is closed", {"name": "2024-01"}, {"period_id", "name"}),
    ],
)
async def test_provider_states_set_up_what_they_name(erp, state, params, keys):
    result = await erp.call(
        "POST", "/_sim/provider-states", 200, json={"state": state, "params": params}
    )
    assert keys <= set(result)
    if "id" in params:
        assert params["id"] in result.values()
    if state == "a customer exists":
        customer = await erp.call("GET", "/customers/cust_pact", 200)
        assert customer["credit_limit_minor"] == 500
    if state == "a booked sales order exists":
        assert (await erp.call("GET", "/sales-orders/so_pact", 200))["status"] == "booked"
    if state == "the period is closed":
        assert (await erp.call("GET", "/periods/2024-01", 200))["status"] == "closed"
