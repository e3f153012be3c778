from __future__ import annotations

import pytest

from lifecycle.entities import model_for

pytestmark = pytest.mark.anyio

IN_PERIOD = "2026-02-10T12:00:00Z"


async def test_subscription_for_unknown_customer_or_in_another_currency_is_refused(billing):
    items = [{"sku": "P", "unit_amount_minor": 1}]
    await billing.refused(
        "POST",
        "/subscriptions",
        422,
        "unknown_customer",
        json={"customer_id": "cus_nope", "items": items},
    )
    customer = await billing.customer(currency="EUR")
    await billing.refused(
        "POST",
        "/subscriptions",
        422,
        "currency_mismatch",
        json={"customer_id": customer["id"], "items": items, "currency": "USD"},
    )
    sub = await billing.subscription(customer["id"], currency="EUR")
    assert sub["currency"] == "EUR"


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"sku": "P", "unit_amount_minor": -1}]},
        {"items": [{"sku": "P", "unit_amount_minor": 1, "quantity": -1}]},
        {"items": [{"sku": "P", "unit_amount_minor": 1}], "start_date": "2026-02-30"},
        {"items": [{"sku": "P", "unit_amount_minor": 1}], "start_date": "9999-12-31"},
        {"items": [{"sku": "P", "unit_amount_minor": 1}], "trial_days": 731},
        {"items": [{"sku": "P", "unit_amount_minor": 1}], "colour": "red"},
    ],
)
async def test_malformed_subscriptions_get_422_not_500(billing, body):
    customer = await billing.customer()
    await billing.refused(
        "POST",
        "/subscriptions",
        422,
        "validation_failed",
        json={"customer_id": customer["id"], **body},
    )


async def test_customer_in_an_unsupported_currency_is_refused(billing):
    await billing.refused(
        "POST",
        "/customers",
        422,
        "unsupported_currency",
        json={"name": "A", "email": "a@b.c", "currency": "XYZ"},
    )


async def test_usage_rules(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    recurring, metered = sub["items"]
    url = f"/subscriptions/{sub['id']}/usage-records"

    def body(item=metered, quantity=1, timestamp=IN_PERIOD):
        return {"subscription_item_id": item["id"], "quantity": quantity, "timestamp": timestamp}

    await billing.refused("POST", url, 422, "not_usage_item", json=body(item=recurring))
    await billing.refused("POST", url, 422, "unknown_item", json=body(item={"id": "si_nope"}))
    await billing.refused("POST", url, 422, "validation_failed", json=body(quantity=-1))
    await billing.refused(
        "POST", url, 422, "validation_failed", json=body(timestamp="2026-02-10T12:00:00")
    )  # naive: no zone
    for outside in ("2026-01-30T23:59:59Z", "2026-02-28T00:00:00Z"):
        await billing.refused(
            "POST", url, 422, "usage_outside_period", json=body(timestamp=outside)
        )
    await billing.refused(
        "POST", "/subscriptions/sub_nope/usage-records", 404, "not_found", json=body()
    )
    await billing.refused(
        "POST",
        "/usage-records",
        422,
        "unknown_subscription",
        json={"subscription_id": "sub_nope", **body()},
    )
    record = await billing.call(
        "POST",
        "/usage-records",
        201,
        json={"subscription_id": sub["id"], "external_id": "u-1", **body(quantity=0)},
    )
    assert (record["quantity"], record["subscription_id"]) == (0, sub["id"])
    assert (await billing.get("/usage-records?external_id=u-1"))["data"] == [record]
    await billing.invoice(sub["id"])
    await billing.refused("POST", url, 409, "period_already_invoiced", json=body())


async def test_one_invoice_per_subscription_and_period_unless_voided(billing):
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    first = await billing.invoice(sub["id"])
    body = await billing.refused(
        "POST", f"/subscriptions/{sub['id']}/invoices", 409, "invoice_exists_for_period"
    )
    assert body["errors"][0]["existing_id"] == first["id"]
    await billing.call("POST", f"/invoices/{first['id']}/void", 200)
    again = await billing.invoice(sub["id"])
    assert again["number"] == "INV-000002"
    await billing.refused("POST", "/subscriptions/sub_nope/invoices", 404, "not_found")


async def test_lists_filter_by_customer_status_and_external_id(billing):
    a = await billing.customer(external_id="ext-a", crm_account_id="acc_a")
    b = await billing.customer(external_id="ext-b")
    sub_a = await billing.subscription(a["id"], external_id="deal-a")
    sub_b = await billing.subscription(b["id"])
    await billing.call("POST", f"/subscriptions/{sub_b['id']}/cancel", 200)
    found = await billing.get("/customers?external_id=ext-b")
    assert [c["id"] for c in found["data"]] == [b["id"]]
    found = await billing.get("/customers?crm_account_id=acc_a")
    assert [c["id"] for c in found["data"]] == [a["id"]]
    found = await billing.get(f"/subscriptions?customer_id={a['id']}")
    assert [s["id"] for s in found["data"]] == [sub_a["id"]]
    found = await billing.get("/subscriptions?status=canceled")
    assert [s["id"] for s in found["data"]] == [sub_b["id"]]
    found = await billing.get("/subscriptions?external_id=deal-a")
    assert [s["id"] for s in found["data"]] == [sub_a["id"]]
    await billing.refused("GET", "/subscriptions?status=paused", 422, "validation_failed")
    page = await billing.get("/customers?limit=1")
    assert len(page["data"]) == 1
    assert page["next_cursor"] is not None
    for url in (
        "/customers/cus_x",
        "/subscriptions/sub_x",
        "/invoices/in_x",
        "/payments/pay_x",
        "/credit-notes/cn_x",
        "/usage-records/ur_x",
    ):
        await billing.refused("GET", url, 404, "not_found")


async def test_provider_states_set_up_what_they_name(billing):
    async def setup(state, **params):
        return await billing.call(
            "POST", "/_sim/provider-states", 200, json={"state": state, "params": params}
        )

    ids = await setup("a customer exists", id="cus_pact")
    assert (await billing.get("/customers/cus_pact"))["id"] == ids["customer_id"] == "cus_pact"
    ids = await setup("an active subscription exists", id="sub_pact", customer_id="cus_p2")
    sub = await billing.get("/subscriptions/sub_pact")
    assert (sub["status"], sub["customer_id"]) == ("active", "cus_p2")
    ids = await setup("an open invoice exists", id="in_pact")
    invoice = await billing.get("/invoices/in_pact")
    assert invoice["status"] == "open"
    assert invoice["subscription_id"] == ids["subscription_id"]
    ids = await setup("a past due subscription exists", id="sub_late")
    assert (await billing.get("/subscriptions/sub_late"))["status"] == "past_due"
    assert (await billing.get(f"/invoices/{ids['invoice_id']}"))["attempt_count"] == 1


async def _everything(billing):
    """A happy path, a dunning run and a credit note: every object type once at least."""
    customer = await billing.customer(external_id="ext-1")
    sub = await billing.subscription(customer["id"], external_id="deal-1")
    await billing.usage(sub, 10)
    invoice = await billing.open_invoice(sub["id"])
    await billing.call("POST", f"/invoices/{invoice['id']}/pay", 200)
    await billing.call(
        "POST", f"/invoices/{invoice['id']}/credit-notes", 201, json={"amount_minor": 100}
    )
    late = await billing.customer(payment_method="4000000000000341")
    late_sub = await billing.subscription(late["id"], trial_days=7)
    await billing.call("PATCH", f"/subscriptions/{late_sub['id']}", 200, json={"trial_end": "now"})
    failing = await billing.open_invoice(late_sub["id"])
    await billing.refused("POST", f"/invoices/{failing['id']}/pay", 402, "card_declined")


async def test_every_stored_object_validates_against_its_entity_model(billing):
    await _everything(billing)
    export = await billing.get("/_sim/export")
    counts = {t: len(objs) for t, objs in export["objects"].items()}
    assert all(counts.values()), counts
    for object_type, objects in export["objects"].items():
        for obj in objects:
            model_for(object_type).model_validate(obj)


async def test_export_reset_seed_round_trips_and_numbering_goes_on(billing):
    await _everything(billing)
    before = (await billing.get("/_sim/export"))["objects"]
    await billing.call("POST", "/_sim/reset", 200)
    assert all(not objs for objs in (await billing.get("/_sim/export"))["objects"].values())
    await billing.call("POST", "/_sim/seed", 200, json={"objects": before})
    assert (await billing.get("/_sim/export"))["objects"] == before
    customer = await billing.customer()
    sub = await billing.subscription(customer["id"])
    numbers = sorted(i["number"] for i in before["invoice"])
    assert (await billing.invoice(sub["id"]))["number"] == f"INV-{len(numbers) + 1:06d}"
