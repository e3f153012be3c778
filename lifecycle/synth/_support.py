"""Support cases: volume scales with seats, SLA targets by priority and tier, Zendesk statuses.

Statuses follow ``lifecycle.states.CASE`` (new -> open <-> pending -> solved -> closed,
solved reopened now and then); a case opened with no active entitlement is flagged.
"""

from __future__ import annotations

import math

from lifecycle.sla import DEFAULT_TIER, targets_min
from lifecycle.synth._accounts import AccountCtx
from lifecycle.synth._fulfil import touch
from lifecycle.synth._time import US_PER_DAY, US_PER_HOUR, ts
from lifecycle.synth._world import Obj, World

__all__ = ["open_cases"]

_PRIORITIES = (("low", 0.3), ("normal", 0.45), ("high", 0.2), ("urgent", 0.05))
# (first response, resolution) targets in hours, standard tier; premium and enterprise halve them.


def _poisson(w: World, lam: float) -> int:
    if lam > 30:  # normal approximation keeps big accounts cheap
        return max(0, round(w.rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, w.rng.random()
    while p > limit:
        k += 1
        p *= w.rng.random()
    return k


def _priority(w: World) -> str:
    r = w.rng.random()
    for value, weight in _PRIORITIES:
        r -= weight
        if r < 0:
            return value
    return "normal"


def _entitlement_at(acct: AccountCtx, at: int) -> Obj | None:
    """The entitlement in force at ``at`` (its end date moves up when it expires early)."""
    day = ts(at)[:10]
    for start, _end, ent in acct.entitlements:
        if start <= at and day < ent["end_date"]:
            return ent
    return None


def open_cases(w: World, acct: AccountCtx, seats: int, start_us: int, end_us: int) -> None:
    """Cases over ``[start_us, end_us)``, about 0.15 + seats/80 a month (at most 8)."""
    org = acct.organization
    if org is None or end_us <= start_us:
        return
    months = (end_us - start_us) / (30 * US_PER_DAY)
    for _ in range(_poisson(w, min(8.0, 0.15 + seats / 80) * months)):
        _case(w, acct, org, start_us + int(w.rng.random() * (end_us - start_us)))


def _case(w: World, acct: AccountCtx, org: Obj, at: int) -> None:
    rng = w.rng
    ent = _entitlement_at(acct, at)
    priority = _priority(w)
    tier = DEFAULT_TIER if ent is None else ent["support_tier"]
    first_min, resolve_min = targets_min(tier, priority)
    first_h, resolve_h = first_min / 60, resolve_min / 60
    first_due = at + int(first_h * US_PER_HOUR)
    resolve_due = at + int(resolve_h * US_PER_HOUR)
    case = w.new("case", at, correlation_id=None)
    responded = at + int(first_h * US_PER_HOUR * rng.lognormvariate(-0.9, 0.6))
    solved = responded + int(resolve_h * US_PER_HOUR * rng.lognormvariate(-1.2, 0.7))
    steps = [("new", at), ("open", responded)]
    if rng.random() < 0.35:  # waiting on the customer for a while
        wait = responded + (solved - responded) // 3
        steps += [("pending", wait), ("open", wait + (solved - wait) // 2)]
    steps.append(("solved", solved))
    if rng.random() < 0.05:  # reopened by the requester, solved again
        steps += [("open", solved + US_PER_HOUR), ("solved", solved + 6 * US_PER_HOUR)]
        solved += 6 * US_PER_HOUR
    steps.append(("closed", solved + 4 * US_PER_DAY))  # Zendesk closes solved tickets after 4 days
    seen = [(s, t) for s, t in steps if t <= w.as_of_us]
    breached = (first_due <= w.as_of_us and responded > first_due) or (
        resolve_due <= w.as_of_us and solved > resolve_due
    )
    case.update(
        organization_id=org["id"], subject=w.pick(w.pools.sentences),
        description=w.pick(w.pools.paragraphs),
        requester_email=w.pick(tuple(acct.emails)) if acct.emails else None,
        priority=priority, status=seen[-1][0],
        entitlement_id=None if ent is None else ent["id"],
        flags=[] if ent is not None else ["no_active_entitlement"],
        first_response_due_at=ts(first_due), resolution_due_at=ts(resolve_due),
        first_responded_at=ts(responded) if responded <= w.as_of_us else None,
        sla_breached=breached,
        solved_at=ts(solved) if solved <= w.as_of_us else None,
        closed_at=ts(steps[-1][1]) if seen[-1][0] == "closed" else None,
    )  # fmt: skip
    w.event(at, "support", "case.created", case, {"status": "new", "version": 1})
    for n, (s, t) in enumerate(seen[1:], start=2):
        touch(w, case, t)
        w.event(t, "support", "case.status_changed", case, {"status": s, "version": n})
    if breached:
        due = first_due if responded > first_due else resolve_due
        w.event(due, "support", "case.sla_breached", case, {"sla_breached": True})
