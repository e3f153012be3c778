"""Each ERP business rule, refused with its status and stable code."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_order_over_the_credit_limit_is_refused(erp):
    customer = await erp.customer(credit_limit_minor=10_000)
    await erp.item()
    body = await erp.refused(
        "POST",
        "/sales-orders",
        422,
        "credit_limit_exceeded",
        json={
            "customer_id": customer["id"],
            "lines": [{"sku": "PLAT-STD", "quantity": 1, "unit_price_minor": 10_001}],
        },
    )
    assert body["errors"][0]["credit_limit_minor"] == 10_000
    assert (await erp.call("GET", "/sales-orders", 200))["data"] == []


async def test_credit_check_counts_open_ar_and_open_orders(erp):
    customer = await erp.customer(credit_limit_minor=10_000)
    await erp.item()
    await erp.invoice(customer["id"], 4_000)  # open AR
    await erp.order(customer["id"], 3_000)  # an open order
    over = {
        "customer_id": customer["id"],
        "lines": [{"sku": "PLAT-STD", "quantity": 1, "unit_price_minor": 3_001}],
    }
    body = await erp.refused("POST", "/sales-orders", 422, "credit_limit_exceeded", json=over)
    assert body["errors"][0]["exposure_minor"] == 7_000
    await erp.order(customer["id"], 3_000)  # exactly at the limit is allowed


async def test_credit_counts_tax_in_the_order_total(erp):
    customer = await erp.customer(legal_entity="GB01", credit_limit_minor=11_000)
    await erp.item()
    await erp.refused(
        "POST",
        "/sales-orders",
        422,
        "credit_limit_exceeded",
        json={
            "customer_id": customer["id"],
            "lines": [{"sku": "PLAT-STD", "quantity": 1, "unit_price_minor": 10_000}],
        },
    )  # 10,000 + 20 % VAT = 12,000 > 11,000


async def test_approval_rechecks_credit_after_the_limit_was_lowered(erp):
    customer = await erp.customer(credit_limit_minor=10_000)
    await erp.item()
    order = await erp.order(customer["id"], 8_000)
    await erp.call("PATCH", f"/customers/{customer['id']}", 200, json={"credit_limit_minor": 5_000})
    await erp.refused("POST", f"/sales-orders/{order['id']}/approve", 422, "credit_limit_exceeded")
    assert (await erp.call("GET", f"/sales-orders/{order['id']}", 200))["status"] == (
        "pending_approval"
    )


async def test_tax_exempt_customer_pays_no_tax_and_japanese_tax_rounds_in_yen(erp):
    exempt = await erp.customer(legal_entity="DE01", tax_exempt=True)
    jp = await erp.customer(legal_entity="JP01")
    await erp.item()
    assert (await erp.order(exempt["id"], 10_000))["tax_minor"] == 0
    order = await erp.order(jp["id"], 1_005)  # 10 % of 1,005 yen = 100.5 -> 101
    assert (order["currency"], order["tax_minor"], order["total_minor"]) == ("JPY", 101, 1_106)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/customers", {"name": "Acme"}),
        ("/sales-orders", {"lines": [{"sku": "PLAT-STD", "quantity": 1, "unit_price_minor": 1}]}),
        ("/invoices", {"subtotal_minor": 100}),
        ("/receipts", {"amount_minor": 100}),
        (
            "/journal-entries",
            {
                "currency": "USD",
                "lines": [
                    {"account": "1000", "debit_minor": 5},
                    {"account": "3000", "credit_minor": 5},
                ],
            },
        ),
    ],
)
async def test_second_object_with_the_same_external_id_is_refused(erp, path, body):
    customer = await erp.customer(external_id="seed-customer")
    await erp.item()
    if path not in {"/customers", "/journal-entries"}:
        body = {"customer_id": customer["id"], **body}
    body = {**body, "external_id": "dup-1"}
    if path == "/customers":
        body["external_id"] = "seed-customer"
    else:
        await erp.call("POST", path, 201, json=body)
    problem = await erp.refused("POST", path, 409, "duplicate_external_id", json=body)
    assert problem["errors"][0]["field"] == "external_id"


async def test_duplicate_external_id_is_reported_before_the_credit_check(erp):
    customer = await erp.customer(credit_limit_minor=10_000)
    await erp.item()
    await erp.order(customer["id"], 10_000, external_id="opp_1")
    await erp.refused(
        "POST",
        "/sales-orders",
        409,
        "duplicate_external_id",
        json={
            "customer_id": customer["id"],
            "external_id": "opp_1",
            "lines": [{"sku": "PLAT-STD", "quantity": 1, "unit_price_minor": 10_000}],
        },
    )


async def test_order_invoice_with_a_used_external_id_is_refused_and_the_order_stays(erp):
    customer = await erp.customer()
    await erp.item()
    await erp.invoice(customer["id"], 100, external_id="in_1")
    order = await erp.order(customer["id"])
    await erp.act(order["id"], "approve", "fulfill")
    await erp.refused(
        "POST",
        f"/sales-orders/{order['id']}/invoice",
        409,
        "duplicate_external_id",
        json={"external_id": "in_1"},
    )
    assert (await erp.call("GET", f"/sales-orders/{order['id']}", 200))["status"] == "fulfilled"


async def test_external_id_check_switched_off_accepts_duplicates(erp_without_unique_external_id):
    erp = erp_without_unique_external_id
    first = await erp.customer(external_id="crm-1")
    second = await erp.customer(external_id="crm-1")
    await erp.item()
    await erp.order(first["id"], external_id="opp_1")
    await erp.order(first["id"], external_id="opp_1")
    await erp.invoice(first["id"], 100, external_id="in_1")
    await erp.invoice(first["id"], 100, external_id="in_1")
    listed = await erp.call("GET", "/customers", 200, params={"external_id": "crm-1"})
    assert [c["id"] for c in listed["data"]] == [first["id"], second["id"]]
    assert (
        len((await erp.call("GET", "/invoices", 200, params={"external_id": "in_1"}))["data"]) == 2
    )
    await erp.item("OTHER")
    await erp.refused("POST", "/items", 409, "duplicate_sku", json={"sku": "OTHER", "name": "x"})


async def test_second_item_with_the_same_sku_is_refused(erp):
    await erp.item("PLAT-STD")
    await erp.refused("POST", "/items", 409, "duplicate_sku", json={"sku": "PLAT-STD", "name": "x"})


@pytest.mark.parametrize("line", [{"sku": "NOPE"}, {"item_id": "item_nope"}])
async def test_order_for_an_unknown_item_is_refused(erp, line):
    customer = await erp.customer()
    body = {
        "customer_id": customer["id"],
        "lines": [{**line, "quantity": 1, "unit_price_minor": 100}],
    }
    problem = await erp.refused("POST", "/sales-orders", 422, "unknown_item", json=body)
    assert problem["errors"][0]["field"].startswith("lines.0.")


async def test_order_line_whose_item_and_sku_disagree_is_refused(erp):
    customer = await erp.customer()
    item = await erp.item("A")
    await erp.item("B")
    body = {
        "customer_id": customer["id"],
        "lines": [{"item_id": item["id"], "sku": "B", "quantity": 1, "unit_price_minor": 100}],
    }
    await erp.refused("POST", "/sales-orders", 422, "item_mismatch", json=body)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sales-orders", {"lines": [{"sku": "PLAT-STD", "quantity": 1, "unit_price_minor": 1}]}),
        ("/invoices", {"subtotal_minor": 100}),
        ("/receipts", {"amount_minor": 100}),
    ],
)
async def test_unknown_customer_is_refused(erp, path, body):
    await erp.item()
    await erp.refused(
        "POST", path, 422, "unknown_customer", json={"customer_id": "cust_no", **body}
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sales-orders", {"lines": [{"sku": "PLAT-STD", "quantity": 1, "unit_price_minor": 1}]}),
        ("/invoices", {"subtotal_minor": 100}),
        ("/receipts", {"amount_minor": 100}),
    ],
)
async def test_currency_other_than_the_customers_is_refused(erp, path, body):
    customer = await erp.customer(legal_entity="GB01")
    await erp.item()
    body = {"customer_id": customer["id"], "currency": "USD", **body}
    await erp.refused("POST", path, 422, "currency_mismatch", json=body)


async def test_customer_in_an_unknown_legal_entity_is_refused(erp):
    await erp.refused(
        "POST",
        "/customers",
        422,
        "unknown_legal_entity",
        json={"name": "Acme", "legal_entity": "ZZ99"},
    )
    await erp.refused(
        "POST", "/customers", 422, "unsupported_currency", json={"name": "Acme", "currency": "XXX"}
    )


@pytest.mark.parametrize(
    ("actions", "refused"),
    [((), "fulfill"), ((), "close"), (("approve", "fulfill"), "cancel"), (("cancel",), "approve")],
)
async def test_sales_order_moves_outside_the_machine_are_refused(erp, actions, refused):
    customer = await erp.customer()
    await erp.item()
    order = await erp.order(customer["id"])
    await erp.act(order["id"], *actions)
    await erp.refused("POST", f"/sales-orders/{order['id']}/{refused}", 409, "invalid_transition")


async def test_booked_order_can_be_cancelled_and_then_no_longer_edited(erp):
    customer = await erp.customer()
    await erp.item()
    order = await erp.order(customer["id"])
    cancelled = await erp.act(order["id"], "approve", "cancel")
    assert cancelled["status"] == "cancelled"
    assert (await erp.event_types())[-1] == "order.cancelled"
    await erp.refused("POST", f"/sales-orders/{order['id']}/invoice", 409, "invalid_transition")
    await erp.refused(
        "PATCH", f"/sales-orders/{order['id']}", 409, "order_locked", json={"memo": "x"}
    )


async def test_invoicing_an_unfulfilled_order_is_refused_without_an_invoice(erp):
    customer = await erp.customer()
    await erp.item()
    order = await erp.order(customer["id"])
    await erp.act(order["id"], "approve")
    await erp.refused("POST", f"/sales-orders/{order['id']}/invoice", 409, "invalid_transition")
    assert (await erp.call("GET", "/invoices", 200))["data"] == []


async def test_receipt_applying_more_than_its_amount_is_refused(erp):
    customer = await erp.customer()
    invoice = await erp.invoice(customer["id"], 1_000)
    await erp.refused(
        "POST",
        "/receipts",
        422,
        "over_application",
        json={
            "customer_id": customer["id"],
            "amount_minor": 500,
            "applications": [{"ar_invoice_id": invoice["id"], "amount_minor": 600}],
        },
    )


async def test_application_over_the_invoices_amount_due_is_refused(erp):
    customer = await erp.customer()
    invoice = await erp.invoice(customer["id"], 1_000)
    await erp.receipt(customer["id"], 400, (invoice["id"], 400))
    problem = await erp.refused(
        "POST",
        "/receipts",
        422,
        "exceeds_amount_due",
        json={
            "customer_id": customer["id"],
            "amount_minor": 2_000,
            "applications": [
                {"ar_invoice_id": invoice["id"], "amount_minor": 300},
                {"ar_invoice_id": invoice["id"], "amount_minor": 301},
            ],
        },
    )
    assert problem["errors"][0]["field"] == "applications.1.amount_minor"
    assert (await erp.call("GET", f"/invoices/{invoice['id']}", 200))["amount_due_minor"] == 600


async def test_application_to_another_customers_invoice_or_currency_is_refused(erp):
    mine = await erp.customer()
    theirs = await erp.customer(legal_entity="GB01")
    other_usd = await erp.customer()
    gbp_invoice = await erp.invoice(theirs["id"], 1_000)
    usd_invoice = await erp.invoice(other_usd["id"], 1_000)
    for invoice, code in ((gbp_invoice, "customer_mismatch"), (usd_invoice, "customer_mismatch")):
        await erp.refused(
            "POST",
            "/receipts",
            422,
            code,
            json={
                "customer_id": mine["id"],
                "amount_minor": 100,
                "applications": [{"ar_invoice_id": invoice["id"], "amount_minor": 100}],
            },
        )
    await erp.refused(
        "POST",
        "/receipts",
        422,
        "unknown_invoice",
        json={
            "customer_id": mine["id"],
            "amount_minor": 100,
            "applications": [{"ar_invoice_id": "inv_nope", "amount_minor": 100}],
        },
    )


async def test_partial_receipt_leaves_the_invoice_open_and_unapplied_cash_on_account(erp):
    customer = await erp.customer()
    invoice = await erp.invoice(customer["id"], 1_000)
    await erp.receipt(customer["id"], 1_500, (invoice["id"], 600))
    after = await erp.call("GET", f"/invoices/{invoice['id']}", 200)
    assert (after["status"], after["amount_due_minor"]) == ("open", 400)
    assert await erp.balances() == {"1000": 1_500, "1200": 400, "2400": -900, "4000": -1_000}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "credit_limit_minor": -1},
        {"name": "x", "legal_entity": "us01"},
        {"name": ""},
        {"name": "x", "surprise": 1},
    ],
)
async def test_malformed_customer_bodies_get_422_validation_failed(erp, body):
    await erp.refused("POST", "/customers", 422, "validation_failed", json=body)


async def test_impossible_dates_and_empty_lines_get_422(erp):
    customer = await erp.customer()
    await erp.refused(
        "POST",
        "/invoices",
        422,
        "validation_failed",
        json={"customer_id": customer["id"], "subtotal_minor": 1, "posting_date": "2026-02-30"},
    )
    await erp.refused(
        "POST",
        "/sales-orders",
        422,
        "validation_failed",
        json={"customer_id": customer["id"], "lines": []},
    )
    await erp.refused(
        "POST",
        "/sales-orders",
        422,
        "validation_failed",
        json={"customer_id": customer["id"], "lines": [{"quantity": 1, "unit_price_minor": 1}]},
    )


async def test_direct_invoice_tax_defaults_to_the_legal_entity_rate_or_takes_billings(erp):
    de = await erp.customer(legal_entity="DE01")
    exempt = await erp.customer(legal_entity="DE01", tax_exempt=True)
    assert (await erp.invoice(de["id"], 10_000))["tax_minor"] == 1_900
    assert (await erp.invoice(de["id"], 10_000, tax_minor=1_899))["total_minor"] == 11_899
    assert (await erp.invoice(exempt["id"], 10_000))["tax_minor"] == 0


async def test_item_and_order_edits_emit_update_events(erp):
    customer = await erp.customer()
    item = await erp.item()
    order = await erp.order(customer["id"])
    await erp.call("PATCH", f"/items/{item['id']}", 200, json={"revenue_account": "4200"})
    await erp.refused(
        "PATCH", f"/items/{item['id']}", 422, "unknown_account", json={"revenue_account": "1000"}
    )
    await erp.call("PATCH", f"/sales-orders/{order['id']}", 200, json={"memo": "PO 42"})
    assert (await erp.event_types())[-2:] == ["item.updated", "order.updated"]
