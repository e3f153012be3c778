from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_duplicate_sku_is_refused(cpq):
    await cpq.product("SEATS")
    r = await cpq.refused(
        "POST", "/products", 409, "duplicate_sku",
        json={"sku": "SEATS", "name": "Again", "family": "x", "billing_type": "one_time"},
    )  # fmt: skip
    assert r["errors"][0]["field"] == "sku"


async def test_products_filter_by_family_and_active(cpq):
    await cpq.product("A", family="platform")
    b = await cpq.product("B", family="services", external_id="ext-b")
    await cpq.call("PATCH", f"/products/{b['id']}", 200, json={"active": False})
    page = await cpq.call("GET", "/products", 200, params={"family": "services"})
    assert [p["sku"] for p in page["data"]] == ["B"]
    page = await cpq.call("GET", "/products", 200, params={"active": "true"})
    assert [p["sku"] for p in page["data"]] == ["A"]
    page = await cpq.call("GET", "/products", 200, params={"external_id": "ext-b"})
    assert [p["id"] for p in page["data"]] == [b["id"]]
    types = [e["type"] for e in (await cpq.call("GET", "/events", 200))["data"]]
    assert types == ["product.created", "product.created", "product.updated"]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"scheme": "tiered", "tiers": [{"up_to": 10, "unit_amount_minor": 5}]}, "entries.0.tiers"),
        (
            {"scheme": "volume", "tiers": [{"up_to": 10, "unit_amount_minor": 5},
                                           {"up_to": 5, "unit_amount_minor": 4},
                                           {"up_to": None, "unit_amount_minor": 3}]},
            "entries.0.tiers",
        ),
        ({"scheme": "tiered", "tiers": []}, "entries.0.tiers"),
        ({"scheme": "per_unit", "unit_amount_minor": 5, "tiers": [{"unit_amount_minor": 1}]},
         "entries.0.tiers"),
    ],
)  # fmt: skip
async def test_unpriceable_tiers_are_refused(cpq, entry, field):
    await cpq.product("SEATS")
    r = await cpq.refused(
        "POST", "/price-books", 422, "invalid_price",
        json={"name": "B", "currency": "USD", "entries": [{"sku": "SEATS", **entry}]},
    )  # fmt: skip
    assert r["errors"][0]["field"] == field


async def test_price_book_refuses_unknown_products_duplicates_and_currencies(cpq):
    await cpq.product("SEATS")
    entry = {"sku": "SEATS", "unit_amount_minor": 100}
    await cpq.refused(
        "POST", "/price-books", 422, "unknown_product",
        json={"name": "B", "currency": "USD", "entries": [{"sku": "NOPE"}]},
    )  # fmt: skip
    await cpq.refused(
        "POST", "/price-books", 422, "duplicate_entry",
        json={"name": "B", "currency": "USD", "entries": [entry, entry]},
    )  # fmt: skip
    await cpq.refused(
        "POST", "/price-books", 422, "unsupported_currency", json={"name": "B", "currency": "XXX"}
    )


async def test_one_default_price_book_per_currency(cpq):
    first = await cpq.call(
        "POST", "/price-books", 201, json={"name": "A", "currency": "USD", "is_default": True}
    )
    await cpq.refused(
        "POST", "/price-books", 409, "default_price_book_exists",
        json={"name": "B", "currency": "USD", "is_default": True},
    )  # fmt: skip
    other = await cpq.call("POST", "/price-books", 201, json={"name": "B", "currency": "USD"})
    await cpq.refused(
        "PATCH", f"/price-books/{other['id']}", 409, "default_price_book_exists",
        json={"is_default": True},
    )  # fmt: skip
    await cpq.call("PATCH", f"/price-books/{first['id']}", 200, json={"is_default": False})
    await cpq.call("PATCH", f"/price-books/{other['id']}", 200, json={"is_default": True})


async def test_put_entry_adds_and_replaces_a_products_price(cpq):
    seats = await cpq.product("SEATS")
    book = await cpq.call("POST", "/price-books", 201, json={"name": "A", "currency": "USD"})
    url = f"/price-books/{book['id']}/entries/{seats['id']}"
    await cpq.call("PUT", url, 200, json={"unit_amount_minor": 100})
    book = await cpq.call("PUT", url, 200, json={"unit_amount_minor": 250})
    assert [(e["sku"], e["unit_amount_minor"]) for e in book["entries"]] == [("SEATS", 250)]
    await cpq.refused("PUT", f"/price-books/{book['id']}/entries/prod_nope", 404, "not_found",
                      json={"unit_amount_minor": 1})  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [{"sku": "SEATS", "quantity": -1}]},
        {"lines": [{"sku": "SEATS", "quantity": 1, "discount_bps": 10_001}]},
        {"lines": [{"quantity": 1}]},
        {"lines": [{"sku": "SEATS", "product_id": "prod_1", "quantity": 1}]},
        {"term_months": 0},
        {"lines": [{"sku": "SEATS", "quantity": 1, "list_minor": 5}]},
        {"total_minor": 5},
    ],
)
async def test_quote_bodies_out_of_bounds_or_with_prices_get_422(cpq, body):
    await cpq.catalogue()
    await cpq.refused(
        "POST", "/quotes", 422, "validation_failed", json={"price_book_id": cpq.book["id"], **body}
    )
