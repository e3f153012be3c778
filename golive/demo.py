"""``golive demo``: a business day of deals and a month end through a middleware, judged.

``run_demo(DemoOptions(...))`` starts the estate (threads, free loopback ports), seeds a
catalogue and accounts, starts the reference (or naive) middleware and registers its
webhooks, freezes the estate clock on the last business day of a month, and then:

1. sales reps close ``deals`` deals between 09:00 and 17:00, the estate clock stepping
   (and settling) between them; an ERP ``outage`` (11:00-11:20) and ``duplicate``
   webhook deliveries on CRM (the business day) are fault rules on the simulated clock;
2. one customer's card is swapped for a declining test card;
3. the estate clock advances through the month end to the first invoices, their
   payments (one declined, its first dunning retry) and the ERP's AR flow;
4. the middleware's queue drains (``/status``), the oracle reconciles the estate and
   the report (``report.html``, ``summary.json``, ``junit.xml``, and ``raw/``: the
   journals, deliveries and events, docs/calibration.md) is written.

Every random choice comes from ``seed``. README, "golive demo".
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from examples.run import SutHandle, new_webhook_secret, register_webhooks, start_sut, sut_env
from golive.demo_deals import Deal, close_deal, seed_accounts, seed_catalogue
from golive.drain import MiddlewareWork, wait_drained
from golive.estateclock import EstateClock, format_utc
from golive.faults import rule_for
from golive.live.sut import BUNDLED_TUNING
from scenarios.oracle import Slos, Verdict, read_snapshot, reconcile
from simulators.estate import Estate, running_estate

# The demo moves the clock in 20-minute steps and drains the middleware between them, so
# simulated latencies come in steps: work held by the ERP outage lands a step or two late.
# Its objectives allow two steps beyond the usual 30 minutes (golive.toml's [slos] are for
# estates whose clock runs or moves finer).
DEMO_SLOS = Slos(close_to_order_s=3600.0, order_to_entitlement_s=3600.0,
                 invoice_to_ar_invoice_s=3600.0)  # fmt: skip

__all__ = ["DAY", "DECLINING_CARD", "DemoOptions", "DemoResult", "Progress", "run_demo"]

# The business day: the last business day of January 2030 (a Thursday), so the month
# ends that night and the first monthly invoices fall due on 28 February.
DAY = datetime(2030, 1, 31, 8, 0, tzinfo=UTC)
_OPEN_H, _CLOSE_H = 9, 17
_OUTAGE = (timedelta(hours=3), timedelta(hours=3, minutes=20))  # 11:00-11:20 after 08:00
_MONTH_BUDGET_S = 20.0  # wall seconds the month end may take
_REACT_S = 1.5
# A middleware that keeps failing never lets a step settle: the clock moves on after this.
_STEP_SETTLE_S = 3.0  # wall seconds a deal's reactions get before the clock moves on
_UNTIL = datetime(2030, 3, 6, 0, 0, tzinfo=UTC)  # past the invoices and a dunning retry
DECLINING_CARD = "4000000000000341"  # Stripe's test card that saves, then fails every charge

Progress = Callable[[str, float], None]  # (what is happening, units of work done)


@dataclass
class DemoOptions:
    sut: str = "reference"
    seed: int = 7
    deals: int = 20
    out: Path | None = None
    settle_limit_s: float = 30.0


@dataclass
class DemoResult:
    """What the run did and the oracle's verdict; ``ok`` when the estate reconciles."""

    verdict: Verdict
    out: Path
    deals: list[Deal]
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.verdict.ok)


def units(options: DemoOptions) -> float:
    """The total of the units ``run_demo`` reports to its progress callback."""
    return options.deals + 5.0


def _fault_rules(seed: int) -> dict[str, list[dict[str, Any]]]:
    day_open = DAY.replace(hour=_OPEN_H)
    return {
        "erp": [
            rule_for(
                "outage",
                start=format_utc(DAY + _OUTAGE[0]),
                end=format_utc(DAY + _OUTAGE[1]),
                seed=seed,
            )
        ],
        "crm": [
            rule_for(
                "duplicate",
                probability=0.5,
                seed=seed,
                start=format_utc(day_open),
                end=format_utc(DAY.replace(hour=_CLOSE_H)),
            )
        ],
    }


def _admin(estate: Estate, system: str, path: str, **kw: Any) -> Any:
    method = kw.pop("method", "GET")
    response = httpx.request(
        method, f"{estate.url(system)}/_sim{path}", headers=estate.admin_headers, timeout=30, **kw
    )
    response.raise_for_status()
    return response.json()


def _decline_one(estate: Estate, account_id: str) -> int:
    """Give the billing customer(s) of a CRM account the declining card; how many."""
    swapped = 0
    with estate.client("billing") as billing:
        cursor: str | None = None
        while True:  # docs/api.md, lists: ?cursor= pages on (the naive middleware's
            # duplicates make more than one page of customers)
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            response = billing.get("/customers", params=params)
            response.raise_for_status()
            page = response.json()
            for c in page["data"]:
                if account_id in (c.get("crm_account_id"), c.get("external_id")):
                    billing.patch(
                        f"/customers/{c['id']}", json={"payment_method": DECLINING_CARD}
                    ).raise_for_status()
                    swapped += 1
            cursor = page.get("next_cursor")
            if not cursor:
                return swapped


def _business_day(
    estate: Estate,
    clock: EstateClock,
    sut: SutHandle,
    options: DemoOptions,
    rng: random.Random,
    progress: Progress,
) -> list[Deal]:
    with estate.client("crm") as crm, estate.client("cpq") as cpq, estate.client("erp") as erp:
        book = seed_catalogue(cpq, erp)
        accounts = seed_accounts(crm, rng, max(1, (options.deals * 3 + 3) // 4))
        progress("seeded the catalogue and accounts", 1)
        gap = timedelta(hours=_CLOSE_H - _OPEN_H) / max(options.deals, 1)
        clock.advance(to=DAY.replace(hour=_OPEN_H), settle_limit_s=_STEP_SETTLE_S)
        deals = []
        for i in range(options.deals):
            at = DAY.replace(hour=_OPEN_H) + gap * i
            account = accounts[i] if i < len(accounts) else rng.choice(accounts)
            deals.append(close_deal(crm, cpq, book, account, rng, format_utc(at)))
            # The middleware reacts at the deal's instant, as it would live (an outage
            # holds it back: then it carries on when the clock leaves the window).
            wait_drained(estate, sut, _REACT_S)
            step = at
            while step < at + gap:  # 20-minute steps, each drained: a retry lands on time
                step = min(step + timedelta(minutes=20), at + gap)
                clock.advance(to=step, settle_limit_s=_STEP_SETTLE_S)
                wait_drained(estate, sut, _REACT_S)
            progress(f"deal {i + 1}/{options.deals} closed won ({account['name']})", 1)
    return deals


class _OutOfTime(Exception):
    pass


def _month_end(
    clock: EstateClock, sut: SutHandle, options: DemoOptions, tick: Progress
) -> dict[str, Any]:
    """Advance to ``_UNTIL``; a middleware that keeps failing (its webhooks retried at
    their own instants) is cut off after ``_MONTH_BUDGET_S`` wall seconds."""
    deadline = time.monotonic() + _MONTH_BUDGET_S
    reached = {"at": ""}

    def step(now: float, _start: float, _end: float) -> None:
        reached["at"] = format_utc(now)
        tick(f"month end: {reached['at'][:10]}", 0)
        if time.monotonic() > deadline:
            raise _OutOfTime

    try:
        with MiddlewareWork(sut) as working:
            return clock.advance(
                to=_UNTIL, settle_limit_s=options.settle_limit_s, progress=step,
                outside_busy=working,
            ).as_dict()  # fmt: skip
    except _OutOfTime:
        return {"reached": reached["at"], "steps": None, "cut_off": True}


def _dump(estate: Estate, out: Path, options: DemoOptions) -> None:
    """``out/raw/``: the journals, deliveries and events of the run, so a demo run is a
    live run ``golive scenario calibrate`` can fit a simulation from (docs/calibration.md)."""
    from scenarios.rawdump import dump_raw

    notes = {"source": "golive demo", "sut": options.sut, "seed": options.seed,
             "deals": options.deals}  # fmt: skip
    with httpx.Client(headers=estate.admin_headers, timeout=60) as admin:
        dump_raw(estate.urls, out, client=admin, notes=notes)


def run_demo(options: DemoOptions, progress: Progress | None = None) -> DemoResult:
    """Run the demo end to end and write its report; see the module docstring."""
    from golive.demo_report import collect_facts, write_reports

    tick: Progress = progress or (lambda _what, _done: None)
    if options.sut not in ("reference", "naive"):
        raise ValueError(f"unknown middleware {options.sut!r}; one of reference, naive")
    if options.deals < 1:
        raise ValueError("--deals must be at least 1")
    rng = random.Random(options.seed)
    out = options.out or Path("golive-reports") / datetime.now(UTC).strftime(
        f"demo-{options.sut}-%Y%m%dT%H%M%SZ"
    )
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        running_estate(seed=options.seed) as estate,
        tempfile.TemporaryDirectory(prefix="golive-demo-") as state,
        EstateClock(estate.urls, estate.admin_headers) as clock,
    ):
        clock.freeze(DAY)
        secret = new_webhook_secret()
        sut = start_sut(
            options.sut, sut_env(estate.urls, secret), state_dir=Path(state), **BUNDLED_TUNING
        )
        try:
            register_webhooks(estate.urls, sut.url, secret)
            for system, rules in _fault_rules(options.seed).items():
                for rule in rules:
                    _admin(estate, system, "/faults", method="POST", json=rule)
            tick(f"estate and the {options.sut} middleware up", 1)
            deals = _business_day(estate, clock, sut, options, rng, tick)
            wait_drained(estate, sut, options.settle_limit_s)
            decliner = rng.choice(deals)
            declined = _decline_one(estate, decliner.account_id)
            tick(f"{decliner.account_name} pays with a declining card", 1)
            advance = _month_end(clock, sut, options, tick)
            drain = wait_drained(estate, sut, options.settle_limit_s)
            status = drain.status
            tick("settled; reconciling", 1)
            snapshot = read_snapshot(estate.urls, admin_headers=estate.admin_headers)
            verdict = reconcile(snapshot, DEMO_SLOS)
            facts = collect_facts(estate, snapshot, deals, status, advance)
            _dump(estate, out, options)
        finally:
            sut.stop()
    facts.update(
        {
            "sut": options.sut,
            "seed": options.seed,
            "decliner": decliner.account_name,
            "declined_customers": declined,
            "seconds": round(time.monotonic() - started, 1),
            "drain": {
                "outcome": drain.outcome,
                "seconds": round(drain.seconds, 1),
                "left": drain.left,
            },
        }
    )
    result = DemoResult(verdict, out, deals, facts)
    write_reports(result)
    tick("report written", 1)
    return result
