"""``golive scenario run NAME --mode live``: a scenario file driven against running
simulators and a real middleware, then judged by the oracle (docs/live-scenarios.md).

The estate's clock is frozen at the scenario's start and moved, one item of the plan at
a time, to the item's instant: a deal closed by a sales rep, a fault window opening or
closing. An item at offset ``t`` happens no earlier than ``t / speed`` wall seconds into
the run (the compression); between items the clock jumps, settling the estate at each
step, so the middleware's reactions, webhook retries, invoice runs and renewals happen
at their simulated instants. Then the estate drains, the oracle reconciles it and the
journals and delivery logs are measured.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from examples.run import register_webhooks
from golive.demo_deals import CATALOGUE, Deal, DemoFlowError, close_deal, seed_accounts
from golive.demo_deals import seed_catalogue as _seed_catalogue
from golive.drain import MiddlewareWork, wait_drained
from golive.estateclock import EstateClock, format_utc, parse_utc
from golive.live.finish import (
    admin_call,
    advance,
    collect,
    dump_raw_folder,
    follow_invoices,
    pending_deliveries,
)
from golive.live.plan import FaultWindow, LivePlan, make_plan
from golive.live.sut import LiveSut, start_live_sut
from scenarios.oracle import Slos, Snapshot, Verdict, read_snapshot, reconcile
from scenarios.spec import ScenarioSpec
from simulators.estate import Estate, running_estate
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = ["PACED_GAP_S", "LiveOptions", "LiveResult", "Progress", "is_paced", "run_live", "units"]

Progress = Callable[[str, float], None]  # (what is happening, units of work done)
_MAX_ACCOUNTS = 120  # distinct names the deal driver can make
# A run is paced when its items are this far apart on the wall clock, on average: the
# clock then keeps to the wall schedule instead of waiting for the middleware.
PACED_GAP_S = 0.25
_PACED_SETTLE_S = 0.2  # the estate's settle per clock step in a paced run


@dataclass
class LiveOptions:
    """How to run: the SUT, the compression and volume, where the estate is."""

    sut: str = "reference"  # reference, naive, a URL, or "config" ([sut] of golive.toml)
    speed: float = 3600.0
    scale: float = 1.0
    max_deals: int = 40
    targets: dict[str, str] | None = None  # attach to these simulators (None: start them)
    admin_headers: dict[str, str] = field(default_factory=dict)
    credentials: tuple[str, str] = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    sut_url: str | None = None
    sut_command: str | list[str] | None = None
    slos: Slos = field(default_factory=Slos)
    settle_limit_s: float = 2.0
    react_s: float = 2.0
    drain_limit_s: float = 30.0
    given: list[str] = field(default_factory=list)  # fields the file sets (given_keys)
    invoice_run: bool = True  # after the timeline, move on to the first invoice run
    through_renewal: bool = False  # ... and on through each term's end and renewal
    raw_dir: Path | None = None  # the report folder: raw/ gets the calibration dump


@dataclass
class LiveResult:
    """What the run did and saw; the report folder is written from it."""

    plan: LivePlan
    verdict: Verdict
    snapshot: Snapshot
    deals: list[Deal]
    unclosed: list[dict[str, Any]]
    timeline: list[dict[str, Any]]  # faults added and removed (offset_s, what, system, ...)
    samples: list[dict[str, Any]]  # backlog seen by the driver after each item
    journals: dict[str, list[dict[str, Any]]]
    deliveries: dict[str, list[dict[str, Any]]]
    sut: dict[str, Any]
    wall_s: float
    max_lag_s: float
    drained: bool
    status: dict[str, Any] | None
    followed_to: str | None = None  # the instant the run followed the estate to, past the end
    raw: str | None = None  # what the calibration dump (raw/) wrote, or why it did not
    started_at: float = 0.0  # Unix seconds when the timeline started (offset 0; journals' wall_at)


@contextlib.contextmanager
def _estate(spec: ScenarioSpec, options: LiveOptions) -> Iterator[Estate]:
    if options.targets is None:
        with running_estate(seed=spec.seed) as estate:
            yield estate
        return
    token = options.admin_headers.get("X-Sim-Admin-Token")
    estate = Estate(urls=dict(options.targets), admin_token=token)
    for system, url in estate.urls.items():
        try:
            httpx.get(f"{url}/_sim/health", headers=estate.admin_headers, timeout=5)
        except httpx.HTTPError as exc:
            from golive.errors import UsageProblem

            raise UsageProblem(f"cannot reach the {system} simulator at {url}: {exc}") from None
    yield estate


def _items(plan: LivePlan) -> list[tuple[float, int, str, Any]]:
    """The plan's moments in order: (offset, tie-break, kind, payload)."""
    items: list[tuple[float, int, str, Any]] = []
    for i, t in enumerate(plan.arrivals_s):
        items.append((t, 1, "deal", i))
    for w in plan.windows:
        items.append((w.start_s, 0, "fault_on", w))
        items.append((min(w.end_s, plan.horizon_s), 2, "fault_off", w))
    items.append((plan.horizon_s, 3, "end", None))
    return sorted(items, key=lambda x: (x[0], x[1]))


class _Driver:
    """The loop: pace, move the clock, act, sample."""

    def __init__(
        self,
        plan: LivePlan,
        estate: Estate,
        clock: EstateClock,
        sut: LiveSut,
        options: LiveOptions,
        tick: Progress,
    ) -> None:
        self.plan, self.estate, self.clock, self.sut = plan, estate, clock, sut
        self.working = MiddlewareWork(sut)  # the middleware's own queue, for clock steps
        self.options, self.tick = options, tick
        self.rng = random.Random(plan.spec.seed)
        self.deals: list[Deal] = []
        self.unclosed: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []
        self.samples: list[dict[str, Any]] = []
        self.rules: dict[int, str] = {}
        self.wall0 = time.monotonic()
        self.started_at = time.time()
        self.max_lag_s = 0.0
        self.unsettled = 0  # steps the estate did not settle within the limit
        self.paced = is_paced(plan)
        self.http = httpx.Client(timeout=30)  # the control-plane calls of the loop

    def _pace(self, offset_s: float) -> None:
        due = self.wall0 + self.plan.wall_s(offset_s)
        late = time.monotonic() - due
        if late < 0:
            time.sleep(-late)
        else:
            self.max_lag_s = max(self.max_lag_s, late)

    def _react_limit(self, next_offset_s: float | None) -> float:
        """How long the middleware's reaction may hold the clock at an item: ``react_s``
        in an unpaced run; in a paced one, only until the next item is due."""
        if not self.paced or next_offset_s is None:
            return self.options.react_s
        left = self.wall0 + self.plan.wall_s(next_offset_s) - time.monotonic()
        return max(0.0, min(self.options.react_s, left))

    def _move(self, offset_s: float) -> None:
        # Paced, the clock keeps to the wall schedule as real time would: it does not wait
        # for the middleware's own queue, and the estate gets a short settle per step.
        # Unpaced (a speed the estate cannot follow), every step settles the middleware's
        # work too, so reactions keep to their instants (docs/live-scenarios.md, "Pacing").
        settle = self.options.settle_limit_s
        if self.paced:
            settle = min(settle, _PACED_SETTLE_S)
        self.unsettled += advance(self.clock, self.plan.estate_time(offset_s),
                                   max(60.0, self.plan.spec.sample_interval_s),
                                   settle, None if self.paced else self.working)  # fmt: skip

    def _fault(self, offset_s: float, kind: str, w: FaultWindow) -> None:
        key = id(w)
        if kind == "fault_on":
            added = admin_call(
                self.estate, w.system, "/faults", client=self.http, method="POST", json=w.rule
            )
            self.rules[key] = added["id"]
            self.timeline.append(
                {
                    "offset_s": offset_s,
                    "what": f"{w.kind}_started",
                    "system": w.system,
                    "rule": added["id"],
                    "source": w.source,
                }
            )
            return
        rule_id = self.rules.pop(key, None)
        if rule_id is None:
            return
        held = admin_call(self.estate, w.system, "/faults", client=self.http)["data"]
        fired = next((int(r.get("fired") or 0) for r in held if r["id"] == rule_id), 0)
        admin_call(self.estate, w.system, f"/faults/{rule_id}", client=self.http, method="DELETE")
        self.timeline.append(
            {
                "offset_s": offset_s,
                "what": f"{w.kind}_ended",
                "system": w.system,
                "rule": rule_id,
                "fired": fired,
                "source": w.source,
            }
        )

    def _deal(
        self,
        offset_s: float,
        n: int,
        crm: httpx.Client,
        cpq: httpx.Client,
        book: str,
        accounts: list[dict[str, Any]],
    ) -> None:
        account = accounts[n] if n < len(accounts) else self.rng.choice(accounts)
        at = format_utc(self.plan.estate_time(offset_s))
        try:
            self.deals.append(close_deal(crm, cpq, book, account, self.rng, at))
        except (DemoFlowError, httpx.HTTPError) as exc:
            # A fault on CRM or CPQ stops a sales rep too: the deal is not closed.
            self.unclosed.append(
                {"offset_s": offset_s, "account": account["name"], "error": str(exc)[:300]}
            )

    def _sample(self, offset_s: float) -> None:
        status = self.sut.status() or {}
        self.samples.append(
            {
                "offset_s": offset_s,
                "wall_s": round(time.monotonic() - self.wall0, 3),
                "pending_deliveries": pending_deliveries(self.estate, self.http),
                "sut_queue": int(status.get("queue_depth") or 0),
                "sut_parked": int(status.get("parked") or 0),
                "sut_dlq": status.get("dlq"),
            }
        )

    def run(self, units: int) -> None:
        est = self.estate
        with (
            self.http,
            self.working,
            est.client("crm") as crm,
            est.client("cpq") as cpq,
            est.client("erp") as erp,
        ):
            book = _seed_catalogue(cpq, erp)
            n_accounts = min(_MAX_ACCOUNTS, max(1, math.ceil(len(self.plan.arrivals_s) * 0.75)))
            accounts = seed_accounts(crm, self.rng, n_accounts)
            self.tick(f"seeded {len(CATALOGUE)} products and {n_accounts} accounts", 1)
            self.wall0, self.started_at = time.monotonic(), time.time()
            items = _items(self.plan)
            for i, (offset_s, _order, kind, payload) in enumerate(items):
                self._pace(offset_s)
                self._move(offset_s)
                if kind == "deal":
                    self._deal(offset_s, payload, crm, cpq, book, accounts)
                    what = f"deal {payload + 1}/{len(self.plan.arrivals_s)}"
                elif kind in ("fault_on", "fault_off"):
                    self._fault(offset_s, kind, payload)
                    what = f"{payload.kind} on {payload.system} {kind.removeprefix('fault_')}"
                else:
                    what = "end of the timeline"
                # The middleware reacts at the item's instant, as it would live: the clock
                # moves on once its queue and the deliveries are empty, or after react_s,
                # or when the next item is due (docs/live-scenarios.md, "Pacing").
                nxt = items[i + 1][0] if i + 1 < len(items) else None
                wait_drained(est, self.sut, self._react_limit(nxt))
                self._sample(offset_s)
                at = self.plan.estate_time(offset_s).strftime("%Y-%m-%d %H:%M")
                self.tick(f"{at} {what}", 1)


def run_live(
    spec: ScenarioSpec,
    options: LiveOptions,
    progress: Progress | None = None,
    plan_ready: Callable[[LivePlan], None] | None = None,
) -> LiveResult:
    """Run ``spec`` live (module docstring); the oracle's verdict and what was measured."""
    tick: Progress = progress or (lambda _what, _n: None)
    started = time.monotonic()
    with _estate(spec, options) as estate, EstateClock(estate.urls, estate.admin_headers) as clock:
        now = max(parse_utc(v["now"]) for v in clock.show().values())
        plan = make_plan(
            spec,
            given=options.given,
            speed=options.speed,
            scale=options.scale,
            max_deals=options.max_deals,
            estate_now=now,
        )
        if plan_ready is not None:
            plan_ready(plan)
        clock.freeze(plan.estate_start)
        sut = start_live_sut(
            options.sut,
            estate.urls,
            config_url=options.sut_url,
            config_command=options.sut_command,
            credentials=options.credentials,
        )
        try:
            register_webhooks(estate.urls, sut.url, sut.secret, client=options.credentials)
            tick(f"estate and the {sut.kind} middleware up ({sut.url})", 1)
            driver = _Driver(plan, estate, clock, sut, options, tick)
            driver.run(len(_items(plan)))
            followed = (
                follow_invoices(plan, estate, clock, sut, options.settle_limit_s,
                                options.react_s, through_renewal=options.through_renewal)
                if options.invoice_run or options.through_renewal
                else None
            )  # fmt: skip
            if followed:
                what = "the renewals" if options.through_renewal else "the first invoice run"
                tick(f"followed to {what} ({followed})", 0)
            drain = wait_drained(estate, sut, options.drain_limit_s)
            status, drained = drain.status, drain.settled
            tick(f"drain: {drain.outcome}; reconciling", 1)
            cid, secret = options.credentials
            snapshot = read_snapshot(
                estate.urls, client_id=cid, client_secret=secret, admin_headers=estate.admin_headers
            )
            verdict = reconcile(snapshot, options.slos)
            journals = collect(estate, "/journal", limit=100_000)
            deliveries = collect(estate, "/deliveries", limit=10_000)
            raw = (
                dump_raw_folder(estate, plan, sut.kind, options.raw_dir, options.credentials)
                if options.raw_dir is not None
                else None
            )
        finally:
            sut.stop()
    return LiveResult(
        plan,
        verdict,
        snapshot,
        driver.deals,
        driver.unclosed,
        driver.timeline,
        driver.samples,
        journals,
        deliveries,
        sut.describe(),
        time.monotonic() - started,
        driver.max_lag_s,
        drained,
        status,
        followed,
        raw,
        driver.started_at,
    )


def is_paced(plan: LivePlan) -> bool:
    """Whether the run keeps to the wall clock (docs/live-scenarios.md, "Pacing"): its
    items are, on average, at least ``PACED_GAP_S`` wall seconds apart."""
    return plan.wall_s(plan.horizon_s) >= PACED_GAP_S * len(_items(plan))


def units(plan: LivePlan) -> int:
    """The units ``run_live`` reports to its progress callback."""
    return len(_items(plan)) + 3
