"""The oracle's verdict on the bundled middlewares: the reference one reconciles, the naive
one's second order on a redelivered webhook is named (README, "Reconciliation")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from examples.run import SutHandle
from golive.pytest_plugin import EstateReconcile
from simulators.estate import Estate
from tests.examples.conftest import redeliver
from tests.examples.deals import call, close_deal, listing, wait_for


def test_a_deal_billed_and_paid_through_the_reference_middleware_reconciles(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle],
    golive_reconcile: EstateReconcile,
) -> None:  # fmt: skip
    make_sut()
    close_deal(golive, book, seats=10, discount_bps=1000)
    sub = wait_for(lambda: listing(golive, "billing", "/subscriptions"))[0]
    wait_for(lambda: listing(golive, "support", "/entitlements"), what="the entitlement")
    with golive.client("billing") as billing:
        inv = call(billing, "POST", f"/subscriptions/{sub['id']}/invoices")
        inv = call(billing, "POST", f"/invoices/{inv['id']}/finalize")
        call(billing, "POST", f"/invoices/{inv['id']}/pay")
    wait_for(lambda: listing(golive, "erp", "/receipts"), what="the receipt")
    verdict = golive_reconcile()
    assert verdict.result("order_per_deal").checked == 1
    assert verdict.result("receipt_per_payment").checked == 1


def test_the_naive_middleware_s_second_order_is_named_by_the_oracle(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle],
    golive_reconcile: EstateReconcile,
) -> None:  # fmt: skip
    make_sut("naive")
    opp = close_deal(golive, book)["opportunity"]["id"]
    wait_for(lambda: listing(golive, "support", "/entitlements"), what="the naive entitlement")
    redeliver(golive, "crm", "opportunity.closed_won")
    wait_for(lambda: len(listing(golive, "erp", "/sales-orders", opportunity_id=opp)) > 1,
             what="the naive middleware's second order")  # fmt: skip
    wait_for(lambda: len(listing(golive, "billing", "/subscriptions")) == 2, what="a second sub")
    with pytest.raises(AssertionError, match="order_per_deal") as caught:
        golive_reconcile()
    assert opp in str(caught.value)
    verdict = golive_reconcile(check=False)
    (order,) = verdict.result("order_per_deal").violations
    assert order.ids[0] == opp
    assert len(order.ids) == 3  # the opportunity and its two orders
    assert order.correlation_id == opp
