"""The generator's guarantees over seeds and sizes: valid, whole, priced, lawful histories."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.entities import ENTITY_TYPES
from lifecycle.ids import PREFIXES
from lifecycle.pricing import BillingType, QuoteLineInput, price_quote
from lifecycle.states import MACHINES
from lifecycle.synth._catalog import PRODUCTS

_SETTINGS = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_SIZES = st.integers(min_value=1, max_value=40)
_SEEDS = st.integers(min_value=0, max_value=2**32)

# field -> object type it refers to, per object type
_REFS: dict[str, dict[str, str]] = {
    "account": {"parent_id": "account"},
    "contact": {"account_id": "account"},
    "opportunity": {"account_id": "account", "primary_quote_id": "quote"},
    "quote": {"opportunity_id": "opportunity", "account_id": "account",
              "price_book_id": "price_book"},
    "billing_customer": {"crm_account_id": "account", "external_id": "account"},
    "subscription": {"customer_id": "billing_customer", "quote_id": "quote",
                     "external_id": "opportunity"},
    "usage_record": {"subscription_id": "subscription"},
    "invoice": {"customer_id": "billing_customer", "subscription_id": "subscription"},
    "payment": {"invoice_id": "invoice", "customer_id": "billing_customer"},
    "credit_note": {"invoice_id": "invoice"},
    "organization": {"crm_account_id": "account", "external_id": "account"},
    "entitlement": {"organization_id": "organization", "subscription_id": "subscription"},
    "case": {"organization_id": "organization", "entitlement_id": "entitlement"},
    "erp_customer": {"crm_account_id": "account", "external_id": "account"},
    "item": {"external_id": "product"},
    "sales_order": {"customer_id": "erp_customer", "quote_id": "quote",
                    "opportunity_id": "opportunity", "external_id": "opportunity"},
    "ar_invoice": {"customer_id": "erp_customer", "sales_order_id": "sales_order",
                   "journal_entry_id": "journal_entry", "external_id": "invoice"},
    "receipt": {"customer_id": "erp_customer", "journal_entry_id": "journal_entry",
                "external_id": "payment"},
}  # fmt: skip

Objects = dict[str, list[dict[str, Any]]]


def _index(objs: Objects) -> dict[str, dict[str, dict[str, Any]]]:
    return {t: {o["id"]: o for o in recs} for t, recs in objs.items()}


@_SETTINGS
@given(accounts=_SIZES, seed=_SEEDS)
def test_every_object_validates_against_its_model_and_uses_its_prefix(
    generated: Any, accounts: int, seed: int
) -> None:
    _, objs = generated(accounts=accounts, seed=seed, years=2)
    assert len(objs["account"]) == accounts
    for object_type, records in objs.items():
        model = ENTITY_TYPES[object_type]
        for record in records:
            dumped = model.model_validate(record).model_dump(mode="json")
            assert {k: dumped[k] for k in record} == record
            assert record["id"].startswith(PREFIXES[object_type] + "_")
        assert len({r["id"] for r in records}) == len(records), object_type


@_SETTINGS
@given(accounts=_SIZES, seed=_SEEDS)
def test_every_reference_resolves(generated: Any, accounts: int, seed: int) -> None:
    _, objs = generated(accounts=accounts, seed=seed, years=3)
    index = _index(objs)
    for object_type, refs in _REFS.items():
        for record in objs[object_type]:
            for field, target in refs.items():
                if record[field] is not None:
                    assert record[field] in index[target], (object_type, field, record[field])
    items = {(s["id"], it["id"]) for s in objs["subscription"] for it in s["items"]}
    for ur in objs["usage_record"]:
        assert (ur["subscription_id"], ur["subscription_item_id"]) in items
    for rc in objs["receipt"]:
        assert all(a["ar_invoice_id"] in index["ar_invoice"] for a in rc["applications"])
    periods = {p["name"] for p in objs["accounting_period"]}
    for je in objs["journal_entry"]:
        assert je["period"] in periods


@_SETTINGS
@given(accounts=_SIZES, seed=_SEEDS)
def test_histories_and_statuses_are_paths_of_the_state_machines(
    generated: Any, accounts: int, seed: int
) -> None:
    _, objs = generated(accounts=accounts, seed=seed, years=3)
    opp = MACHINES["opportunity"]
    for o in objs["opportunity"]:
        stages = [h["stage"] for h in o["stage_history"]]
        assert opp.is_valid_path(stages)
        assert stages[-1] == o["stage"]
        assert [h["at"] for h in o["stage_history"]] == sorted(h["at"] for h in o["stage_history"])
        if o["stage"] == "closed_won":
            assert o["amount_minor"] is not None
            assert o["primary_quote_id"] is not None
    for object_type in ("quote", "subscription", "invoice", "entitlement", "case",
                        "sales_order", "ar_invoice"):  # fmt: skip
        machine = MACHINES[object_type]
        reachable = set(machine.initial)
        frontier = list(reachable)
        while frontier:
            for nxt in machine.moves[frontier.pop()]:
                if nxt not in reachable:
                    reachable.add(nxt)
                    frontier.append(nxt)
        assert {r["status"] for r in objs[object_type]} <= reachable, object_type


@_SETTINGS
@given(accounts=_SIZES, seed=_SEEDS)
def test_quote_order_and_subscription_totals_agree_with_the_pricing_engine(
    generated: Any, accounts: int, seed: int
) -> None:
    _, objs = generated(accounts=accounts, seed=seed, years=3)
    index = _index(objs)
    specs = {pb["id"]: {e["sku"]: e for e in pb["entries"]} for pb in objs["price_book"]}
    from lifecycle.entities.cpq import PriceBookEntry

    for q in objs["quote"]:
        entries = specs[q["price_book_id"]]
        inputs = [
            QuoteLineInput(PriceBookEntry.model_validate(entries[ln["sku"]]).spec(),
                           BillingType(ln["billing_type"]), ln["quantity"], ln["discount_bps"])
            for ln in q["lines"]
        ]  # fmt: skip
        totals = price_quote(inputs, q["term_months"], q["discount_bps"])
        assert totals.total_minor == q["total_minor"]
        assert totals.needs_approval == q["needs_approval"]
        assert [p.net_minor for p in totals.lines] == [ln["net_minor"] for ln in q["lines"]]
    orders_by_opp = Counter(so["opportunity_id"] for so in objs["sales_order"])
    subs_by_quote = Counter(s["quote_id"] for s in objs["subscription"])
    ents_by_sub = Counter(e["subscription_id"] for e in objs["entitlement"])
    for o in objs["opportunity"]:
        if o["stage"] != "closed_won":
            assert orders_by_opp[o["id"]] == 0
            continue
        assert orders_by_opp[o["id"]] == 1
        assert subs_by_quote[o["primary_quote_id"]] == 1
    for so in objs["sales_order"]:
        quote = index["quote"][so["quote_id"]]
        assert (
            so["total_minor"]
            == quote["total_minor"]
            == sum(ln["amount_minor"] for ln in so["lines"])
        )
        assert so["currency"] == quote["currency"]
    one_time = {PRODUCTS[i].sku for i in range(len(PRODUCTS))
                if PRODUCTS[i].billing_type is BillingType.ONE_TIME}  # fmt: skip
    for s in objs["subscription"]:
        assert ents_by_sub[s["id"]] == 1
        quote = index["quote"][s["quote_id"]]
        order = next(so for so in objs["sales_order"] if so["quote_id"] == quote["id"])
        recurring = sum(ln["amount_minor"] for ln in order["lines"] if ln["sku"] not in one_time)
        monthly = sum(it["quantity"] * it["unit_amount_minor"] for it in s["items"])
        assert monthly * s["term_months"] == recurring


@_SETTINGS
@given(accounts=_SIZES, seed=_SEEDS)
def test_ledger_balances_and_ar_mirrors_billing_invoices(
    generated: Any, accounts: int, seed: int
) -> None:
    _, objs = generated(accounts=accounts, seed=seed, years=3)
    for je in objs["journal_entry"]:
        assert sum(ln["debit_minor"] for ln in je["lines"]) == sum(
            ln["credit_minor"] for ln in je["lines"]
        )
    invoices = {i["id"]: i for i in objs["invoice"]}
    ar_by_invoice = Counter(ar["external_id"] for ar in objs["ar_invoice"])
    for inv in invoices.values():
        assert inv["total_minor"] == inv["subtotal_minor"] + inv["tax_minor"]
        assert inv["subtotal_minor"] == sum(ln["amount_minor"] for ln in inv["lines"])
        assert ar_by_invoice[inv["id"]] == (0 if inv["status"] == "draft" else 1)
    for ar in objs["ar_invoice"]:
        inv = invoices[ar["external_id"]]
        assert (ar["total_minor"], ar["currency"]) == (inv["total_minor"], inv["currency"])
        assert (ar["status"] == "paid") <= (inv["status"] == "paid")
    closed = {p["name"]: p["closed_at"] for p in objs["accounting_period"] if p["closed_at"]}
    for je in objs["journal_entry"]:
        if je["period"] in closed:
            assert je["created_at"] < closed[je["period"]]


def test_every_generated_country_books_through_a_legal_entity_the_erp_knows() -> None:
    from lifecycle.legal_entities import LEGAL_ENTITIES
    from lifecycle.synth._catalog import COUNTRIES

    for country in COUNTRIES:
        entity = LEGAL_ENTITIES.get(country.legal_entity)
        assert entity is not None, f"{country.code}: {country.legal_entity} unknown to the ERP"
        assert (entity.currency, entity.tax_bps) == (country.currency, country.vat_bps), country
