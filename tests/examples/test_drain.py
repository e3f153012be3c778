"""``golive.drain.wait_drained``: settled, still (parked work that cannot move) and the limit
(docs/demo.md, "Waiting for the estate to settle")."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from examples.run import SutHandle
from golive.drain import wait_drained
from simulators.estate import Estate
from tests.examples.deals import close_deal, invoice_before_close, listing, wait_for


def test_a_deal_handled_end_to_end_is_settled(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    sut = make_sut()
    close_deal(golive, book)
    drained = wait_drained(golive, sut, limit_s=20)
    assert (drained.outcome, drained.left) == ("settled", "")
    assert listing(golive, "support", "/entitlements")  # it waited for the whole flow
    assert (drained.status or {}).get("done") == 1


def test_work_parked_for_an_event_that_never_comes_ends_the_wait_as_still(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    """An invoice of a deal that never closes: the reference middleware parks it (for its
    park timeout, minutes) and nothing moves; the wait ends after ``still_s``, not the limit."""
    sut = make_sut()
    deal = close_deal(golive, book, close=False)
    invoice_before_close(golive, deal)
    wait_for(lambda: sut.status()["parked"] == 1, what="the invoice to be parked")
    drained = wait_drained(golive, sut, limit_s=30, still_s=1.0)
    assert drained.outcome == "still"
    assert 1.0 <= drained.seconds < 10
    assert drained.left.startswith("middleware: 1 job(s) queued")  # parked, or looked at


def test_a_wait_shorter_than_the_work_ends_at_its_limit(
    golive: Estate, book: str, make_sut: Callable[..., SutHandle]
) -> None:
    sut = make_sut()
    # The ERP is down, so the flow cannot finish however fast the machine is.
    rule = {"kind": "outage", "params": {"retry_after_s": 1}}
    r = httpx.post(f"{golive.url('erp')}/_sim/faults", json=rule, headers=golive.admin_headers)
    assert r.status_code == 201, r.text
    close_deal(golive, book)
    drained = wait_drained(golive, sut, limit_s=0.5)
    assert drained.outcome == "limit"
    assert not drained.settled
    assert drained.left
