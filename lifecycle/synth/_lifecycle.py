"""One account's whole lifecycle: new business, fulfilment, billing, expansions, renewals, churn.

Each step is a function of the run's random stream only, so the same seed writes
the same accounts in the same order, whatever the output format.
"""

from __future__ import annotations

from lifecycle.synth._accounts import AccountCtx
from lifecycle.synth._billing import bill, set_sub_status
from lifecycle.synth._catalog import PRODUCTS, SKU_INDEX
from lifecycle.synth._deals import Deal, Line, business_close, hockey_stick, run_opportunity
from lifecycle.synth._fulfil import Contract, fulfil, touch
from lifecycle.synth._support import open_cases
from lifecycle.synth._time import US_PER_DAY, add_months, date_of_us, ts, us_of_date
from lifecycle.synth._world import World

__all__ = ["run_account"]

_WIN = {"smb": 0.34, "mid_market": 0.28, "enterprise": 0.24}
_RENEW = {"smb": 0.80, "mid_market": 0.87, "enterprise": 0.92}
_EXPAND_PER_YEAR = {"smb": 0.1, "mid_market": 0.3, "enterprise": 0.5}
_CYCLE_DAYS = {"smb": (14, 60), "mid_market": (30, 120), "enterprise": (60, 240)}
_S = SKU_INDEX


def _new_lines(w: World, segment: str) -> tuple[list[Line], int, int]:
    """A first deal: platform seats, support, services, committed usage; discounts; term."""
    rng = w.rng
    r = rng.random
    lines: list[Line]
    if segment == "smb":
        lines = [(_S["PLAT-STD"], rng.randint(3, 25), 5 * int(r() < 0.3))]
        if r() < 0.7:
            lines.append((_S["SUP-STD"], 1, 0))
        if r() < 0.4:
            lines.append((_S["SVC-ONB"], 1, 0))
        if r() < 0.3:
            lines.append((_S["USG-API"], rng.randint(50, 500), 0))
        return lines, rng.choice((0, 0, 0, 0, 5, 10)), 12
    if segment == "mid_market":
        seats = rng.randint(20, 180)
        lines = [(_S["PLAT-PRO"], seats, rng.choice((0, 5, 10)))]
        if r() < 0.5:
            lines.append((_S["ADD-ANL"], max(1, seats // 2), 5))
        lines.append((_S["SUP-PRM"] if r() < 0.8 else _S["SUP-STD"], 1, 0))
        if r() < 0.7:
            lines.append((_S["SVC-ONB"], 1, 0))
        if r() < 0.5:
            lines.append((_S["USG-API"], rng.randint(500, 5_000), 0))
        if r() < 0.3:
            lines.append((_S["USG-STO"], rng.randint(100, 2_000), 0))
        return lines, rng.choice((0, 5, 10, 15)), 24 if r() < 0.2 else 12
    seats = rng.randint(150, 2_500)
    pct = rng.choice((5, 10, 15, 20))
    lines = [(_S["PLAT-ENT"], seats, pct)]
    if r() < 0.7:
        lines.append((_S["ADD-ANL"], seats // 2, pct))
    if r() < 0.6:
        lines.append((_S["ADD-SEC"], seats, pct))
    lines.append((_S["SUP-ENT"], 1, 0))
    lines.append((_S["SVC-PS"], rng.randint(5, 40), 10))
    if r() < 0.6:
        lines.append((_S["USG-API"], rng.randint(5_000, 50_000), pct))
    if r() < 0.5:
        lines.append((_S["USG-STO"], rng.randint(1_000, 20_000), 0))
    return lines, rng.choice((0, 5, 10, 15, 20, 25)), rng.choice((12, 12, 24, 36))


def _renewal_lines(w: World, previous: list[Line], added: list[Line]) -> list[Line]:
    """Recurring and usage lines carried over with the expansions, seats adjusted."""
    qty: dict[int, int] = {}
    pct: dict[int, int] = {}
    for i, q, p in [*previous, *added]:
        if PRODUCTS[i].billing_type.value == "one_time":
            continue
        qty[i] = qty.get(i, 0) + q
        pct.setdefault(i, p)
    out = []
    for i, q in qty.items():
        if PRODUCTS[i].unit == "seat":
            q = max(1, int(q * w.rng.uniform(0.85, 1.2)))
        out.append((i, q, pct[i]))
    return out


def _expansion(
    w: World, acct: AccountCtx, c: Contract, at: int, canceled: int | None
) -> Deal | None:
    """An expansion opportunity during ``c``, co-terminous with it.

    None is opened once dunning has canceled ``c``; one still open then is lost: a customer
    canceled for non-payment buys nothing more, so no won deal goes unfulfilled.
    """
    if canceled is not None and at >= canceled:
        return None
    close = business_close(w, acct.country, at + w.days(20, 60))
    start = c.start
    n = 0
    while us_of_date(start) < close:
        n += 1
        start = add_months(c.start, n)
    term = c.deal.term_months - n
    if term < 1:
        return None
    platform, seats, pct = c.deal.lines[0]
    if w.rng.random() < 0.6 or acct.segment == "smb":
        lines = [(platform, max(1, seats * w.rng.randint(10, 40) // 100), pct)]
    else:
        lines = [(_S["ADD-SEC"], seats, pct)]
    win_p = 0.0 if canceled is not None and close >= canceled else 0.6
    deal = run_opportunity(w, acct, "expansion", at, close, win_p, lines, 0, term)
    if deal is not None:
        deal.start = start
    return deal


def _end_term(w: World, c: Contract, end_us: int, decided_at: int | None) -> None:
    """A term runs out: the subscription ends (replaced by a renewal or not)."""
    sub = c.subscription
    if sub["status"] == "canceled":
        return
    if end_us <= w.as_of_us:
        set_sub_status(w, c, "canceled", end_us, cancel_at_period_end=True, canceled_at=ts(end_us))
        _close_order(w, c, end_us)
    elif decided_at is not None and decided_at <= w.as_of_us:
        touch(w, sub, decided_at, cancel_at_period_end=True)


def _close_order(w: World, c: Contract, at: int) -> None:
    if c.order["status"] == "invoiced" and at <= w.as_of_us:
        touch(w, c.order, at, status="closed")
        w.event(at, "erp", "order.closed", c.order, {"status": "closed"})


def run_account(w: World, acct: AccountCtx) -> None:
    """Everything that happens to one account, from its first opportunity to the world's now."""
    seg = acct.segment
    t = acct.created_us + w.days(1, 30)
    deal = None
    for _ in range(3):
        lines, header, term = _new_lines(w, seg)
        close = hockey_stick(w, acct.country, t + w.days(*_CYCLE_DAYS[seg]))
        deal = run_opportunity(w, acct, "new_business", t, close, _WIN[seg], lines, header, term)
        if deal is None or deal.outcome != "lost" or w.rng.random() >= 0.4:
            break
        t = deal.close_us + w.days(60, 240)
    if deal is None or deal.outcome != "won":
        return
    first_close = deal.close_us
    start = date_of_us(deal.close_us)
    ended = w.as_of_us
    seats = deal.lines[0][1]
    while True:
        c = fulfil(w, acct, deal, start)
        seats = deal.lines[0][1]
        canceled = bill(w, acct, c, None)
        contracts = [c]
        added = []
        years = c.deal.term_months / 12
        for _ in range(int(years * _EXPAND_PER_YEAR[seg] + w.rng.random())):
            at = us_of_date(c.start) + w.days(30, max(31, c.deal.term_months * 30 - 90))
            exp = _expansion(w, acct, c, at, canceled)
            if exp is None or exp.outcome != "won":
                continue
            ec = fulfil(w, acct, exp, exp.start or c.start)
            if bill(w, acct, ec, canceled) is None and canceled is not None:
                set_sub_status(w, ec, "canceled", canceled, canceled_at=ts(canceled))
                _close_order(w, ec, canceled)
            contracts.append(ec)
            added += exp.lines
        end_us = us_of_date(c.end)
        if canceled is not None:
            _close_order(w, c, canceled)
            ended = canceled
            break
        renewal = run_opportunity(
            w, acct, "renewal", end_us - w.days(60, 90),
            business_close(w, acct.country, end_us - w.days(2, 10)), _RENEW[seg],
            _renewal_lines(w, c.deal.lines, added), c.deal.header_pct, c.deal.term_months,
        )  # fmt: skip
        decided = renewal is not None and renewal.outcome != "open"
        for k in contracts:
            _end_term(w, k, end_us, renewal.close_us if renewal and decided else None)
        if renewal is None or renewal.outcome != "won":
            if decided:
                ended = min(end_us, w.as_of_us)
            break
        deal, start = renewal, c.end
    open_cases(w, acct, seats, first_close + US_PER_DAY, ended)
    if ended < w.as_of_us and w.rng.random() < 0.3:  # a churned customer still writes in
        open_cases(w, acct, 80, ended + US_PER_DAY, min(w.as_of_us, ended + 60 * US_PER_DAY))
