"""Opportunities through their stages and the CPQ quotes behind them, priced by lifecycle.pricing.

Close dates bunch at month end and harder at quarter end (the "hockey stick"); a
history is always a path of ``lifecycle.states.OPPORTUNITY``, cut at the world's now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from lifecycle.pricing import QuoteLineInput, QuoteTotals, price_quote
from lifecycle.synth._accounts import AccountCtx
from lifecycle.synth._catalog import PRODUCTS, Country
from lifecycle.synth._time import (
    US_PER_DAY,
    US_PER_HOUR,
    add_months,
    date_of_us,
    day_str,
    ts,
    us_of_date,
)
from lifecycle.synth._world import Obj, World

__all__ = ["Deal", "Line", "business_close", "hockey_stick", "run_opportunity"]

Line = tuple[int, int, int]  # (product index, quantity, line discount in whole percent)
_WEEKEND_PUSH_P = 0.1
_PROBABILITY = {"prospecting": 10, "qualification": 20, "proposal": 50, "negotiation": 75,
                "closed_won": 100, "closed_lost": 0}  # fmt: skip


@dataclass
class Deal:
    """What became of an opportunity by the world's now."""

    outcome: str  # won | lost | open
    close_us: int
    opp: Obj
    quote: Obj | None
    lines: list[Line]
    header_pct: int
    term_months: int
    totals: QuoteTotals
    start: date | None = None  # when what it sells starts (expansions: a period boundary)


def _local_day(country: Country, us: int) -> date:
    return date_of_us(us + country.utc_offset_h * US_PER_HOUR)


def _business_day(w: World, d: date, keep_month: bool = True) -> date:
    """``d``, or if it is a weekend a weekday of the same week drawn at random (of the
    next week if that leaves the month and ``keep_month``), so no weekday is favoured."""
    if d.weekday() < 5:
        return d
    monday = d - timedelta(days=d.weekday())
    if keep_month and monday.month != d.month:
        monday += timedelta(days=7)
    return monday + timedelta(days=w.rng.randint(0, 4))


def _during_hours(w: World, country: Country, d: date) -> int:
    """An instant between 09:00 and 19:00 of ``d`` in ``country``'s business time zone."""
    local = us_of_date(d) + int(w.rng.uniform(9, 19) * US_PER_HOUR)
    return local - country.utc_offset_h * US_PER_HOUR


def hockey_stick(w: World, country: Country, us: int) -> int:
    """Move a close toward month end, more often toward quarter end (sales-team reality).

    Deals close during business hours on business days of the account's country; one in
    ten quarter-end pushes lands on any of the last four days, a weekend included.
    """
    rng = w.rng
    d = _local_day(country, us)
    if d.month % 3 and rng.random() < 0.25:  # pulled into the quarter's last month
        d = add_months(d, 3 - d.month % 3)
    quarter_end = d.month % 3 == 0
    if rng.random() < (0.7 if quarter_end else 0.4):
        last = add_months(d.replace(day=1), 1) - timedelta(days=1)
        if quarter_end and rng.random() < _WEEKEND_PUSH_P:  # any of the last four days
            return _during_hours(w, country, last - timedelta(days=rng.randint(0, 3)))
        # one of the month's last three (quarter) or four business days
        days = [last - timedelta(days=k) for k in range(10)]
        bunch = [x for x in days if x.weekday() < 5][: 3 if quarter_end else 4]
        return _during_hours(w, country, bunch[rng.randint(0, len(bunch) - 1)])
    return _during_hours(w, country, _business_day(w, d))


def business_close(w: World, country: Country, us: int) -> int:
    """The close of a renewal or expansion due near ``us``: business hours of a business day
    of the account's country (a weekend moves to a weekday before it, never later)."""
    return _during_hours(w, country, _business_day(w, _local_day(country, us), False))


def _stages(w: World, kind: str, won: bool) -> list[str]:
    path = ["prospecting", "qualification"] if kind == "new_business" else ["qualification"]
    path += ["proposal", "negotiation"]
    if w.rng.random() < 0.1:  # a buyer reopens terms: negotiation -> proposal -> negotiation
        path += ["proposal", "negotiation"]
    if won:
        return [*path, "closed_won"]
    keep = max(1, int(w.rng.random() * len(path)) + 1)
    return [*path[:keep], "closed_lost"]


def _price(w: World, currency: str, lines: list[Line], header_pct: int, term: int) -> QuoteTotals:
    specs = w.catalog.specs[currency]
    inputs = [
        QuoteLineInput(specs[i], PRODUCTS[i].billing_type, qty, pct * 100) for i, qty, pct in lines
    ]
    return price_quote(inputs, term, header_pct * 100)


def run_opportunity(
    w: World, acct: AccountCtx, kind: str, start_us: int, close_us: int, win_p: float,
    lines: list[Line], header_pct: int, term: int,
) -> Deal | None:  # fmt: skip
    """An opportunity (and its quote once it reaches proposal), as of the world's now."""
    if start_us > w.as_of_us:
        return None
    rng = w.rng
    won = rng.random() < win_p
    path = _stages(w, kind, won)
    # Stage entry times: sorted draws between start and close; the close itself last.
    inner = sorted(start_us + int(rng.random() * (close_us - start_us)) for _ in path[1:-1])
    times = [start_us, *inner, close_us]
    cur = acct.country.currency
    totals = _price(w, cur, lines, header_pct, term)
    opp = w.new("opportunity", start_us)
    close_day = _local_day(acct.country, close_us).isoformat()  # CRM close dates are local
    name = f"{acct.obj['name']} - {kind.replace('_', ' ').title()} {close_day[:7]}"
    seen = [(s, t) for s, t in zip(path, times, strict=True) if t <= w.as_of_us]
    history = [{"stage": s, "at": ts(t)} for s, t in seen]
    stage = seen[-1][0]
    closed = stage in ("closed_won", "closed_lost")
    outcome = "open" if not closed else ("won" if stage == "closed_won" else "lost")
    opp.update(
        account_id=acct.obj["id"], name=name, type=kind, stage=stage, amount_minor=None,
        currency=cur, close_date=close_day, probability=_PROBABILITY[stage],
        primary_quote_id=None, closed_at=ts(close_us) if closed else None,
        stage_history=history, version=len(history), updated_at=history[-1]["at"],
    )  # fmt: skip
    for n, (s, t) in enumerate(seen):
        changes = {"stage": s, "stage_history": history[: n + 1], "version": n + 1,
                   "updated_at": history[n]["at"],
                   "closed_at": opp["closed_at"] if s.startswith("closed") else None}  # fmt: skip
        if n == 0:
            w.event(t, "crm", "opportunity.created", opp, changes)
        else:
            w.event(t, "crm", "opportunity.stage_changed", opp, changes)
        if s in ("closed_won", "closed_lost"):
            w.event(t, "crm", f"opportunity.{s}", opp, changes)
    quote = None
    if "proposal" in path:
        proposal_us = times[path.index("proposal")]
        if proposal_us <= w.as_of_us:
            quote = _quote(w, acct, opp, proposal_us, close_us, outcome, lines, header_pct,
                           term, totals)  # fmt: skip
            opp["amount_minor"] = totals.total_minor
            opp["primary_quote_id"] = quote["id"]
            opp["version"] += 1
    return Deal(outcome, close_us, opp, quote, lines, header_pct, term, totals)


def _quote(
    w: World, acct: AccountCtx, opp: Obj, at_us: int, close_us: int, outcome: str,
    lines: list[Line], header_pct: int, term: int, totals: QuoteTotals,
) -> Obj:  # fmt: skip
    rng = w.rng
    cur = acct.country.currency
    quote = w.new("quote", at_us)
    q_lines = []
    for n, ((i, qty, pct), price) in enumerate(zip(lines, totals.lines, strict=True), start=1):
        q_lines.append({
            "id": f"{quote['id']}-{n}", "product_id": w.catalog.products[i]["id"],
            "sku": PRODUCTS[i].sku, "billing_type": PRODUCTS[i].billing_type.value,
            "quantity": qty, "discount_bps": pct * 100, "list_minor": price.list_minor,
            "discount_minor": price.discount_minor, "net_minor": price.net_minor,
            "monthly_minor": price.monthly_minor,
        })  # fmt: skip
    # draft -> in_review -> approved, then accepted (won), rejected or expired (lost).
    span = close_us - at_us
    submit = at_us + int(span * rng.uniform(0.05, 0.3))
    approve = submit + (int(span * rng.uniform(0.05, 0.3)) if totals.needs_approval else 1_000_000)
    if outcome == "won":
        final = ("accepted", close_us - int(min(rng.uniform(0.5, 3) * US_PER_HOUR, span * 0.3)))
    elif outcome == "lost":
        final = ("rejected", close_us) if rng.random() < 0.7 else ("expired", close_us)
    else:
        final = ("", w.as_of_us + 1)
    steps = [("draft", at_us), ("in_review", submit), ("approved", approve)]
    if final[0] == "expired":
        steps = steps[: 1 + int(rng.random() * 3)]
    steps.append(final)
    steps = [(s, t) for s, t in steps if s and t <= w.as_of_us]
    status = steps[-1][0]
    valid_until = day_str(max(at_us + 60 * US_PER_DAY, close_us))
    if status == "expired":
        valid_until = day_str(steps[-1][1])
    approver = w.pick(w.pools.managers) if totals.needs_approval and len(steps) > 2 else None
    quote.update(
        opportunity_id=opp["id"], account_id=acct.obj["id"],
        price_book_id=w.catalog.price_books[cur]["id"], currency=cur, term_months=term,
        status=status, discount_bps=header_pct * 100, lines=q_lines,
        list_minor=totals.list_minor, line_discount_minor=totals.line_discount_minor,
        header_discount_minor=totals.header_discount_minor, total_minor=totals.total_minor,
        one_time_minor=totals.one_time_minor,
        recurring_monthly_minor=totals.recurring_monthly_minor,
        effective_discount_bps=totals.effective_discount_bps,
        needs_approval=totals.needs_approval, approved_by=approver, valid_until=valid_until,
        accepted_at=ts(steps[-1][1]) if status == "accepted" else None,
        version=len(steps), updated_at=ts(steps[-1][1]),
    )  # fmt: skip
    names = {"draft": "created", "in_review": "submitted", "approved": "approved",
             "accepted": "accepted", "rejected": "rejected", "expired": "expired"}  # fmt: skip
    for n, (s, t) in enumerate(steps):
        w.event(t, "cpq", f"quote.{names[s]}", quote,
                {"status": s, "version": n + 1, "updated_at": ts(t)})  # fmt: skip
    return quote
