"""The clock moves and the end of a live run: advancing that always arrives, following
the estate to its invoice runs, the calibration dump, and the logs read before the estate
stops (docs/live-scenarios.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from golive.drain import MiddlewareWork, wait_drained
from golive.estateclock import EstateClock, format_utc, parse_utc
from golive.live.plan import LivePlan
from lifecycle.dates import add_months
from simulators.estate import Estate

__all__ = [
    "QUIET_S", "admin_call", "advance", "collect", "dump_raw_folder", "follow_invoices",
    "pending_deliveries", "renewal_horizon",
]  # fmt: skip

log = logging.getLogger(__name__)
QUIET_S = 0.1  # the estate clock's default: a middleware's worker polls within it


def admin_call(
    estate: Estate, system: str, path: str, *, client: httpx.Client | None = None, **kw: Any
) -> Any:
    """One control-plane call (``/_sim<path>``) with the estate's admin headers; its JSON.

    Pass a ``client`` when calling in a loop: ``httpx.request`` builds a client (and its
    TLS context) per call, which costs more than the loopback call itself."""
    method = kw.pop("method", "GET")
    url = f"{estate.url(system)}/_sim{path}"
    if client is None:
        response = httpx.request(method, url, headers=estate.admin_headers, timeout=30, **kw)
    else:
        response = client.request(method, url, headers=estate.admin_headers, **kw)
    response.raise_for_status()
    return response.json()


def pending_deliveries(estate: Estate, client: httpx.Client | None = None) -> int:
    """Webhook deliveries due now or in flight, over every system of the estate."""
    return sum(
        int(admin_call(estate, s, "/deliveries", client=client, params={"limit": 1})["pending"]
            or 0)
        for s in estate.urls
    )  # fmt: skip


def advance(
    clock: EstateClock,
    to: datetime,
    step_s: float,
    settle_limit_s: float,
    outside_busy: Callable[[], bool] | None = None,
) -> int:
    """Move the estate's clock to ``to``. A step that does not settle within the limit ends
    an advance early (a failing middleware keeps the estate busy): carry on from where it
    stopped, so the clock always reaches ``to``; how many steps did not settle."""
    unsettled = 0
    while True:
        result = clock.advance(
            to=to, step_s=step_s, quiet_s=QUIET_S, settle_limit_s=settle_limit_s,
            outside_busy=outside_busy,
        )  # fmt: skip
        if result.ok:
            return unsettled
        unsettled += 1
        log.debug("live run: %s", result.unsettled)
        if parse_utc(result.reached) >= to:
            return unsettled


_FOLLOW_LIMIT_S = 35 * 86_400.0  # a monthly subscription's first invoice run, at the latest


def _subscriptions(estate: Estate) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with estate.client("billing") as billing:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
            page = billing.get("/subscriptions", params=params).json()
            out += page.get("data", [])
            after = page.get("next_cursor")
            if not after:
                return out


def _period_ends(subs: list[dict[str, Any]]) -> list[datetime]:
    """The distinct days (00:00 UTC) on which the subscriptions' periods end."""
    ends = {str(s["current_period_end"])[:10] for s in subs if s.get("current_period_end")}
    return [parse_utc(f"{day}T00:00:00Z") for day in sorted(ends)]


def renewal_horizon(subs: list[dict[str, Any]]) -> datetime | None:
    """The day by which every subscription has renewed and had its renewed term's first
    invoice run: the latest term end plus one month (docs/live-scenarios.md)."""
    days = []
    for s in subs:
        if s.get("start_date") and s.get("term_months"):
            start = date.fromisoformat(str(s["start_date"])[:10])
            day = add_months(start, int(s["term_months"]) + 1)
            days.append(parse_utc(f"{day.isoformat()}T00:00:00Z"))
    return max(days, default=None)


def follow_invoices(
    plan: LivePlan,
    estate: Estate,
    clock: EstateClock,
    sut: Any,
    settle_limit_s: float,
    react_s: float,
    *,
    through_renewal: bool = False,
) -> str | None:
    """Move the estate on through every deal's first invoice run (within 35 days of the end
    of the timeline) and an hour past it, so invoices, payments and the ERP's AR flow
    happen even when the scenario is shorter than a billing period; the instant reached.
    ``through_renewal`` follows every invoice run on to the end of each subscription's
    term, its renewal and the renewed term's first invoice.

    The clock stops at each invoice run and the middleware reacts there, as in the
    timeline, so invoice -> AR invoice is measured at its instant."""
    end = plan.estate_start + timedelta(seconds=plan.horizon_s)
    subs = _subscriptions(estate)
    limit = end + timedelta(seconds=_FOLLOW_LIMIT_S)
    if through_renewal:
        limit = max(limit, renewal_horizon(subs) or limit)
    reached: datetime | None = None
    with MiddlewareWork(sut) as working:
        while True:
            days = [d for d in _period_ends(subs) if (reached or end) < d <= limit]
            if not days:
                break
            # The first invoice runs only, unless the renewal is followed: the days are
            # read once; following it, each run moves the periods on and they are read again.
            for day in days if not through_renewal else days[:1]:
                advance(clock, day, 60.0, settle_limit_s, working)
                wait_drained(estate, sut, react_s)
                reached = day
            if not through_renewal:
                break
            subs = _subscriptions(estate)
        if reached is None:
            return None
        advance(clock, reached + timedelta(hours=1), 60.0, settle_limit_s, working)
        wait_drained(estate, sut, react_s)
    return format_utc(reached + timedelta(hours=1))


def dump_raw_folder(
    estate: Estate, plan: LivePlan, sut_kind: str, report_dir: Path, credentials: tuple[str, str]
) -> str:
    """Journals, deliveries and events into ``report_dir/raw/`` for calibration, before the
    estate stops (docs/calibration.md); a failure is reported, it does not fail the run."""
    from scenarios.rawdump import RawProblem, dump_raw

    notes = {
        "scenario": plan.spec.name,
        "mode": "live",
        "sut": sut_kind,
        "speed": plan.speed,
        "deals": len(plan.arrivals_s),
        "estate_start": format_utc(plan.estate_start),
    }
    cid, secret = credentials
    try:
        with httpx.Client(headers=estate.admin_headers, timeout=30) as http:
            dump_raw(
                estate.urls,
                report_dir,
                client=http,
                client_id=cid,
                client_secret=secret,
                notes=notes,
            )
    except (RawProblem, OSError, httpx.HTTPError) as exc:
        return f"not written: {exc}"
    return f"written to {report_dir / 'raw'}"


def collect(estate: Estate, path: str, **params: Any) -> dict[str, list[dict[str, Any]]]:
    return {s: admin_call(estate, s, path, params=params)["data"] for s in estate.urls}
