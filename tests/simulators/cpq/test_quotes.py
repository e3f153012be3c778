from __future__ import annotations

from datetime import date, timedelta

import pytest

from lifecycle.entities import model_for
from simulators.kit.runtime import SimConfig
from simulators.testing import sim_client
from tests.simulators.cpq.conftest import Cpq

pytestmark = pytest.mark.anyio

# 25 seats, tiered, 10 % off; 150 GB storage, volume; 2 onboarding packages at 1,500.00, 25 % off;
# 12 months, 5 % header discount.
DEAL_LINES = [
    {"sku": "SEATS", "quantity": 25, "discount_bps": 1_000},
    {"sku": "STORAGE", "quantity": 150},
    {"sku": "ONBOARD", "quantity": 2, "discount_bps": 2_500},
]


async def test_quote_totals_match_hand_computed_tiered_volume_and_per_unit_lines(cpq):
    await cpq.catalogue()
    quote = await cpq.quote(DEAL_LINES, term_months=12, discount_bps=500)
    seats, storage, onboard = quote["lines"]
    # Tiered: 10 x 1000 + 15 x 800 = 22000 a month; x 12 = 264000; 10 % off = 26400.
    assert (seats["list_minor"], seats["discount_minor"], seats["net_minor"]) == (
        264_000, 26_400, 237_600,
    )  # fmt: skip
    assert seats["monthly_minor"] == 19_800
    # Volume: 150 GB all in the second tier: 150 x 40 + 500 flat = 6500 a month; x 12 = 78000.
    assert (storage["list_minor"], storage["discount_minor"], storage["net_minor"]) == (
        78_000, 0, 78_000,
    )  # fmt: skip
    assert storage["monthly_minor"] == 6_500
    # Per unit, one time: 2 x 150000 = 300000 once, not per month; 25 % off = 75000.
    assert (onboard["list_minor"], onboard["discount_minor"], onboard["net_minor"]) == (
        300_000, 75_000, 225_000,
    )  # fmt: skip
    assert onboard["monthly_minor"] == 0
    assert quote["list_minor"] == 642_000
    assert quote["line_discount_minor"] == 101_400
    # Header: 5 % of (642000 - 101400 = 540600) = 27030.
    assert quote["header_discount_minor"] == 27_030
    assert quote["total_minor"] == 513_570
    # Billed amounts carry the header discount too: 225000 and 26300 a month, less 5 %.
    assert quote["one_time_minor"] == 213_750
    assert quote["recurring_monthly_minor"] == 24_985
    assert quote["recurring_monthly_list_minor"] == 22_000 + 6_500
    # 128430 off 642000 is 20.0047 %: floored to 2000 bps, yet strictly above the 20 % threshold.
    assert quote["effective_discount_bps"] == 2_000
    assert quote["needs_approval"] is True
    assert quote["currency"] == "USD"
    assert [line["id"] for line in quote["lines"]] == [f"{quote['id']}-{n}" for n in (1, 2, 3)]
    assert all(isinstance(quote[k], int) for k in ("list_minor", "total_minor"))


async def test_quote_without_approval_is_approved_on_submit_and_accepted(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5}], opportunity_id="opp_1")
    assert quote["status"] == "draft"
    assert quote["valid_until"] > cpq.state.today()
    submitted = await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200)
    assert submitted["status"] == "approved"
    assert submitted["approved_by"] is None
    accepted = await cpq.call("POST", f"/quotes/{quote['id']}/accept", 200)
    assert accepted["status"] == "accepted"
    assert accepted["accepted_at"] is not None
    events = (await cpq.call("GET", "/events", 200, params={"limit": 1000}))["data"]
    quote_events = [e["type"] for e in events if e["data"].get("id") == quote["id"]]
    assert quote_events == [
        "quote.created", "quote.submitted", "quote.approved", "quote.accepted",
    ]  # fmt: skip


async def test_discount_over_threshold_needs_an_approver_before_acceptance(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5, "discount_bps": 3_000}])
    assert quote["needs_approval"] is True
    await cpq.refused("POST", f"/quotes/{quote['id']}/accept", 409, "approval_required")
    submitted = await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200)
    assert submitted["status"] == "in_review"
    await cpq.refused("POST", f"/quotes/{quote['id']}/accept", 409, "approval_required")
    approved = await cpq.call(
        "POST", f"/quotes/{quote['id']}/approve", 200, json={"approver": "sales.manager"}
    )
    assert approved["status"] == "approved"
    assert approved["approved_by"] == "sales.manager"
    accepted = await cpq.call("POST", f"/quotes/{quote['id']}/accept", 200)
    assert accepted["status"] == "accepted"


async def test_approval_threshold_is_an_option():
    async with sim_client("cpq", SimConfig(options={"approval_threshold_bps": 5_000})) as c:
        cpq = Cpq(c)
        await cpq.catalogue()
        quote = await cpq.quote([{"sku": "SEATS", "quantity": 5, "discount_bps": 3_000}])
        assert quote["needs_approval"] is False


async def test_rejected_quote_cannot_be_accepted(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5, "discount_bps": 3_000}])
    await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200)
    rejected = await cpq.call("POST", f"/quotes/{quote['id']}/reject", 200)
    assert rejected["status"] == "rejected"
    await cpq.refused("POST", f"/quotes/{quote['id']}/accept", 409, "invalid_transition")
    await cpq.refused("POST", f"/quotes/{quote['id']}/expire", 409, "invalid_transition")


async def test_draft_without_needed_approval_cannot_be_accepted_directly(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5}])
    await cpq.refused("POST", f"/quotes/{quote['id']}/accept", 409, "invalid_transition")
    await cpq.refused(
        "POST", f"/quotes/{quote['id']}/approve", 409, "invalid_transition",
        json={"approver": "x"},
    )  # fmt: skip


async def test_patch_reprices_a_draft_and_is_locked_after_submit(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5}])
    assert quote["total_minor"] == 5 * 1_000 * 12
    r = await cpq.c.patch(
        f"/quotes/{quote['id']}",
        json={"lines": [{"sku": "SEATS", "quantity": 12}], "term_months": 24},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert r.json()["total_minor"] == (10 * 1_000 + 2 * 800) * 24
    await cpq.refused(
        "PATCH", f"/quotes/{quote['id']}", 412, "precondition_failed",
        json={"discount_bps": 100}, headers={"If-Match": '"1"'},
    )  # fmt: skip
    await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200)
    await cpq.refused(
        "PATCH", f"/quotes/{quote['id']}", 409, "quote_locked", json={"discount_bps": 100}
    )


async def test_recalled_quote_can_be_edited_again(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5, "discount_bps": 5_000}])
    await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200)
    recalled = await cpq.call("POST", f"/quotes/{quote['id']}/recall", 200)
    assert recalled["status"] == "draft"
    fixed = await cpq.call(
        "PATCH", f"/quotes/{quote['id']}", 200,
        json={"lines": [{"sku": "SEATS", "quantity": 5, "discount_bps": 500}]},
    )  # fmt: skip
    assert fixed["needs_approval"] is False
    assert (await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200))["status"] == "approved"


async def test_product_not_in_price_book_is_refused(cpq):
    await cpq.catalogue()
    await cpq.product("EXTRA")
    r = await cpq.refused(
        "POST", "/quotes", 422, "product_not_in_price_book",
        json={"price_book_id": cpq.book["id"], "lines": [{"sku": "EXTRA", "quantity": 1}]},
    )  # fmt: skip
    assert r["errors"][0]["field"] == "lines.0.product_id"


async def test_inactive_product_cannot_be_quoted_or_submitted(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5}])
    seats = cpq.products["SEATS"]
    await cpq.call("PATCH", f"/products/{seats['id']}", 200, json={"active": False})
    await cpq.refused(
        "POST", "/quotes", 422, "product_inactive",
        json={"price_book_id": cpq.book["id"], "lines": [{"sku": "SEATS", "quantity": 1}]},
    )  # fmt: skip
    await cpq.refused("POST", f"/quotes/{quote['id']}/submit", 422, "product_inactive")


async def test_quote_takes_its_price_books_currency(cpq):
    await cpq.catalogue()
    eur = await cpq.call(
        "POST", "/price-books", 201,
        json={"name": "List EUR", "currency": "EUR", "is_default": True,
              "entries": [{"sku": "SEATS", "unit_amount_minor": 900}]},
    )  # fmt: skip
    by_default = await cpq.call(
        "POST", "/quotes", 201, json={"currency": "EUR", "lines": [{"sku": "SEATS", "quantity": 2}]}
    )
    assert by_default["price_book_id"] == eur["id"]
    assert by_default["currency"] == "EUR"
    assert by_default["total_minor"] == 2 * 900 * 12
    await cpq.refused(
        "POST", "/quotes", 422, "currency_mismatch",
        json={"price_book_id": eur["id"], "currency": "USD"},
    )  # fmt: skip
    await cpq.refused("POST", "/quotes", 422, "no_default_price_book", json={"currency": "JPY"})
    await cpq.refused("POST", "/quotes", 422, "unknown_price_book", json={"price_book_id": "pb_x"})


async def test_empty_quote_cannot_be_submitted(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([])
    await cpq.refused("POST", f"/quotes/{quote['id']}/submit", 422, "quote_empty")


async def test_overdue_quote_is_refused_then_expired_by_the_clock_the_day_after(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5}])
    await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200)
    cpq.state.clock.advance(31 * 86_400)  # time passing with no job run yet
    await cpq.refused("POST", f"/quotes/{quote['id']}/accept", 409, "quote_expired")
    assert cpq.state.expire_overdue_quotes() == [quote["id"]]
    assert (await cpq.call("GET", f"/quotes/{quote['id']}", 200))["status"] == "expired"


async def test_the_clock_expires_a_quote_at_the_start_of_the_day_after_valid_until(cpq):
    await cpq.catalogue()
    quote = await cpq.quote([{"sku": "SEATS", "quantity": 5}])
    await cpq.call("POST", "/_sim/clock/freeze", 200, json={})
    ran = await cpq.call("POST", "/_sim/clock/advance", 200, json={"seconds": 40 * 86_400})
    assert ran["ran"]["runs"] == {"quote_expiry": 1}
    assert (await cpq.call("GET", f"/quotes/{quote['id']}", 200))["status"] == "expired"
    events = await cpq.call("GET", "/events", 200, params={"type": "quote.expired"})
    day_after = date.fromisoformat(quote["valid_until"]) + timedelta(days=1)
    assert [e["occurred_at"] for e in events["data"]] == [f"{day_after}T00:00:00.000000Z"]


async def test_quotes_filter_by_external_id_and_status(cpq):
    await cpq.catalogue()
    mine = await cpq.quote([{"sku": "SEATS", "quantity": 1}], external_id="mw-1")
    await cpq.quote([{"sku": "SEATS", "quantity": 1}], external_id="mw-2")
    page = await cpq.call("GET", "/quotes", 200, params={"external_id": "mw-1"})
    assert [q["id"] for q in page["data"]] == [mine["id"]]
    await cpq.call("POST", f"/quotes/{mine['id']}/submit", 200)
    page = await cpq.call("GET", "/quotes", 200, params={"status": "approved"})
    assert [q["id"] for q in page["data"]] == [mine["id"]]


async def test_every_exported_object_validates_and_export_seed_round_trips(cpq):
    await cpq.catalogue()
    quote = await cpq.quote(DEAL_LINES, discount_bps=500)
    await cpq.call("POST", f"/quotes/{quote['id']}/submit", 200)
    await cpq.call("POST", f"/quotes/{quote['id']}/approve", 200, json={"approver": "vp"})
    await cpq.call("POST", f"/quotes/{quote['id']}/accept", 200)
    exported = (await cpq.call("GET", "/_sim/export", 200))["objects"]
    assert {t for t, objs in exported.items() if objs} == {"product", "price_book", "quote"}
    for object_type, objects in exported.items():
        for obj in objects:
            model_for(object_type).model_validate(obj)
    await cpq.call("POST", "/_sim/reset", 200)
    assert not any((await cpq.call("GET", "/_sim/export", 200))["objects"].values())
    await cpq.call("POST", "/_sim/seed", 200, json={"objects": exported})
    assert (await cpq.call("GET", "/_sim/export", 200))["objects"] == exported
    # Seeded state keeps its rules: the sku is still taken.
    await cpq.refused(
        "POST", "/products", 409, "duplicate_sku",
        json={"sku": "SEATS", "name": "x", "family": "x", "billing_type": "recurring"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("state", "keys"),
    [
        ("a product in a price book exists", {"product_id", "price_book_id"}),
        ("a draft quote exists", {"product_id", "price_book_id", "quote_id"}),
        ("an approved quote exists", {"product_id", "price_book_id", "quote_id"}),
    ],
)
async def test_provider_states_set_up_what_they_name(cpq, state, keys):
    body = {"state": state, "params": {"id": "q_pact"} if "quote" in state else {}}
    r = await cpq.call("POST", "/_sim/provider-states", 200, json=body)
    assert set(r) == keys
    if "approved" in state:
        assert (await cpq.call("GET", "/quotes/q_pact", 200))["status"] == "approved"


async def test_recurring_monthly_amount_carries_the_line_and_header_discounts(cpq):
    # 100,000 a month list; 10 % off the line, then 25 % off the quote.
    await cpq.product("PLAN", "recurring")
    await cpq.product("SETUP", "one_time")
    book = await cpq.call("POST", "/price-books", 201, json={
        "name": "List USD", "currency": "USD", "is_default": True,
        "entries": [{"sku": "PLAN", "unit_amount_minor": 100_000},
                    {"sku": "SETUP", "unit_amount_minor": 75_000}],
    })  # fmt: skip
    quote = await cpq.call("POST", "/quotes", 201, json={
        "price_book_id": book["id"], "term_months": 12, "discount_bps": 2_500,
        "lines": [{"sku": "PLAN", "quantity": 1, "discount_bps": 1_000},
                  {"sku": "SETUP", "quantity": 1}],
    })  # fmt: skip
    assert quote["recurring_monthly_list_minor"] == 100_000
    assert quote["recurring_monthly_minor"] == 67_500  # 100,000 - 10 % - 25 %
    assert quote["one_time_minor"] == 56_250  # 75,000 - 25 %
    assert quote["total_minor"] == (1_080_000 + 75_000) * 3 // 4
    # What a middleware bills per month over the term matches the quote's recurring part.
    recurring_total = quote["total_minor"] - quote["one_time_minor"]
    assert quote["recurring_monthly_minor"] * quote["term_months"] == recurring_total
