"""The reference middleware under duplicates, an outage, reordering, a restart and the DLQ."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from examples.run import SutHandle
from golive.cli import app, main
from simulators.estate import Estate
from tests.examples.conftest import add_fault, clear_faults, delivered, redeliver
from tests.examples.deals import call, close_deal, invoice_before_close, listing, wait_for

_DOWNSTREAM = (("erp", "/sales-orders"), ("erp", "/customers"), ("billing", "/subscriptions"),
               ("billing", "/customers"), ("support", "/organizations"),
               ("support", "/entitlements"))  # fmt: skip
_ORDERS = {"method": "POST", "path": "/sales-orders"}


def _counts(estate: Estate) -> dict[str, int]:
    return {f"{s}{p}": len(listing(estate, s, p)) for s, p in _DOWNSTREAM}


def _settled(estate: Estate, deals: int) -> bool:
    return len(listing(estate, "support", "/entitlements")) == deals


def test_a_redelivered_webhook_creates_nothing_twice(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    sut = make_sut()
    close_deal(golive, book)
    wait_for(lambda: _settled(golive, 1), what="the first deal")
    before = _counts(golive)
    event_id = redeliver(golive, "crm", "opportunity.closed_won")
    wait_for(lambda: delivered(golive, "crm", event_id) == 2, what="the redelivery")
    assert _counts(golive) == before == {k: 1 for k in before}
    assert sut.status()["done"] == 1  # the second delivery was acknowledged as a duplicate


def test_an_erp_outage_is_ridden_out_by_retries_honouring_retry_after(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    sut = make_sut()
    rule = add_fault(golive, "erp", {"kind": "outage", "count": 3,
                                     "params": {"retry_after_s": 0.2}})  # fmt: skip
    close_deal(golive, book)
    wait_for(lambda: _settled(golive, 1), what="the deal after the outage")
    fired = [r for r in call(golive.client("erp"), "GET", "/_sim/faults")["data"]
             if r["id"] == rule["id"]]  # fmt: skip
    assert fired[0]["fired"] == 3
    assert _counts(golive)["erp/sales-orders"] == 1
    assert sut.status()["dlq"] == 0


def test_lost_responses_and_duplicate_deliveries_leave_exactly_one_of_each(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    """A lost response commits the order, then answers 500: the retry carries the same
    Idempotency-Key, so the ERP replays the first answer instead of making a second order."""
    make_sut()
    lost = {"kind": "lost_response", "count": 1}
    add_fault(golive, "erp", {**lost, "match": _ORDERS})
    add_fault(golive, "billing", {**lost, "match": {"method": "POST", "path": "/subscriptions"}})
    add_fault(golive, "crm", {"kind": "duplicate"})
    acct = close_deal(golive, book)["account"]
    close_deal(golive, book, account=acct)
    wait_for(lambda: _settled(golive, 2), what="both deals")
    counts = _counts(golive)
    assert (counts["erp/sales-orders"], counts["billing/subscriptions"]) == (2, 2)
    assert (counts["erp/customers"], counts["support/organizations"]) == (1, 1)
    fired = call(golive.client("erp"), "GET", "/_sim/faults")["data"]
    assert [r["fired"] for r in fired] == [1]


def test_an_invoice_before_its_order_is_parked_then_posted(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    """Billing invoices a subscription made ahead of the deal (keyed by the opportunity, as
    the middleware would): the invoice event comes before any ERP order exists."""
    sut = make_sut()
    deal = close_deal(golive, book, close=False)
    opp, acct = deal["opportunity"], deal["account"]
    with golive.client("billing") as billing:
        customer = call(billing, "POST", "/customers", json={
            "name": acct["name"], "email": "billing@acme.example.com", "currency": "USD",
            "external_id": acct["id"], "crm_account_id": acct["id"],
            "payment_method": "4242424242424242"})  # fmt: skip
        sub = call(billing, "POST", "/subscriptions", json={
            "customer_id": customer["id"], "external_id": opp["id"], "term_months": 12,
            "quote_id": deal["quote"]["id"],
            "items": [{"sku": "PLAT-STD", "quantity": 10, "unit_amount_minor": 3600}]})  # fmt: skip
        inv = call(billing, "POST", f"/subscriptions/{sub['id']}/invoices")
        call(billing, "POST", f"/invoices/{inv['id']}/finalize")
    wait_for(lambda: sut.status()["parked"] == 1, what="the invoice to be parked")
    assert listing(golive, "erp", "/invoices") == []
    deal = close_deal(golive, book, won=deal)
    ar = wait_for(lambda: listing(golive, "erp", "/invoices"), what="the parked AR invoice")
    assert [(a["external_id"], a["total_minor"]) for a in ar] == [(inv["id"], inv["total_minor"])]
    assert sut.status()["parked"] == 0
    assert len(listing(golive, "billing", "/subscriptions")) == 1  # found, not made again


def test_a_restart_mid_way_loses_nothing_and_duplicates_nothing(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    sut = make_sut()
    add_fault(golive, "erp", {"kind": "outage", "match": _ORDERS, "params": {"retry_after_s": 0.1}})
    acct = close_deal(golive, book)["account"]
    close_deal(golive, book, account=acct)  # a second deal of the same account
    wait_for(lambda: len(listing(golive, "billing", "/customers")) == 1, what="half the flow")
    sut.stop()  # mid-way: customers made, orders refused by the outage
    with sqlite3.connect(sut.settings.state_dir / "inbox.sqlite3") as db:  # as a crash leaves it
        db.execute("UPDATE jobs SET status = 'running'")
    clear_faults(golive, "erp")
    sut = make_sut(port=int(sut.url.rsplit(":", 1)[1]))
    wait_for(lambda: _settled(golive, 2), what="both deals after the restart")
    for _ in range(2):  # the dedupe store survived the restart
        event_id = redeliver(golive, "crm", "opportunity.closed_won")
    wait_for(lambda: delivered(golive, "crm", event_id) >= 2, what="the redelivery")
    counts = _counts(golive)
    assert counts["erp/sales-orders"] == counts["billing/subscriptions"] == 2
    assert counts["erp/customers"] == counts["billing/customers"] == 1
    assert (counts["support/organizations"], counts["support/entitlements"]) == (1, 2)
    assert sut.status()["done"] == 2


def test_what_exhausts_its_retries_is_dead_lettered_and_replay_finishes_it(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    sut = make_sut(http_attempts=2, job_attempts=2)
    add_fault(golive, "erp", {"kind": "outage", "match": _ORDERS, "params": {"retry_after_s": 0}})
    opp = close_deal(golive, book)["opportunity"]["id"]
    wait_for(lambda: sut.status()["dlq"] == 1, what="the dead letter")
    state = ["--state-dir", str(sut.settings.state_dir)]
    runner = CliRunner()
    listed = runner.invoke(app, ["sut", "dlq", "list", *state])
    assert listed.exit_code == 0
    assert f"opportunity.closed_won  corr={opp}" in listed.output
    clear_faults(golive, "erp")
    replayed = runner.invoke(app, ["sut", "dlq", "replay", *state])
    assert (replayed.exit_code, replayed.output) == (0, "1 dead letter(s) replayed\n")
    wait_for(lambda: _settled(golive, 1), what="the replayed deal")
    assert (sut.status()["dlq"], _counts(golive)["erp/sales-orders"]) == (0, 1)
    with pytest.raises(SystemExit) as exited:
        main(["sut", "dlq", "replay", "--id", "evt_crm_000000000999", *state])
    assert exited.value.code == 2


def test_the_naive_middleware_makes_a_second_order_on_a_redelivery(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    make_sut("naive")
    opp = close_deal(golive, book)["opportunity"]["id"]
    wait_for(lambda: _settled(golive, 1), what="the naive deal")
    redeliver(golive, "crm", "opportunity.closed_won")
    orders = wait_for(lambda: len(listing(golive, "erp", "/sales-orders", opportunity_id=opp)) > 1,
                      what="the naive middleware's second order")  # fmt: skip
    assert orders  # the defect the oracle must catch: two orders for one won deal
    wait_for(lambda: len(listing(golive, "billing", "/subscriptions")) == 2, what="a second sub")


def test_the_naive_middleware_drops_an_invoice_that_comes_before_its_order(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    make_sut("naive")
    deal = close_deal(golive, book, close=False)
    invoice_before_close(golive, deal)
    event_id = wait_for(lambda: _latest(golive, "billing", "invoice.finalized"))
    wait_for(lambda: delivered(golive, "billing", event_id) == 1, what="the invoice delivery")
    close_deal(golive, book, won=deal)
    wait_for(lambda: listing(golive, "erp", "/sales-orders"), what="the naive order")
    assert listing(golive, "erp", "/invoices") == []  # dropped: the defect the oracle must catch


def _latest(estate: Estate, system: str, event_type: str) -> str | None:
    with estate.client(system) as client:
        events = client.get("/events", params={"type": event_type}).json()["data"]
    return str(events[-1]["id"]) if events else None
