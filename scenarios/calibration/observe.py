"""What a live run's raw folder says about the middleware: its calls and its flows.

Read on the wall clock (``wall_at``), since the estate clock may stand still or jump
(docs/calibration.md, "What is measured"):

- a **middleware call** is a journal request on a business path that carries an
  ``X-Correlation-Id`` naming a deal (the opportunity id, docs/sut-contract.md) and
  started once that deal's first flow had started; its span is ``wall_at`` to
  ``wall_at + duration_ms``;
- a **flow** starts at the first webhook delivery attempt of its event
  (``opportunity.closed_won``; ``invoice.finalized``, its deal by the subscription's
  ``external_id``), or, for the order's two flows, when the ERP order was created; it
  ends when the call that creates its object (``FLOW_TARGETS``) answered 2xx;
- a flow's **steps** are the deal's calls inside it, in order; step *k*'s service time
  runs from the end of step *k-1* (or the flow's start) to its own end, so the
  middleware's time between calls counts, and the steps add up to the flow's latency;
- a **batch** is the invoices one invoice run issued together (one ``occurred_at``); its
  lead runs from the mean of their flows' starts to the middleware's first call on any of
  them, and no step of the batch counts from before that call.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from scenarios.rawdump import RawDump, RawProblem
from scenarios.spec import FLOWS, FlowName

__all__ = ["FLOW_TARGETS", "Batch", "Call", "FlowRun", "Observation", "observe", "operation_name"]

# The call that creates each flow's object: (system, method, path).
FLOW_TARGETS: dict[FlowName, tuple[str, str, str]] = {
    "close_to_order": ("erp", "POST", "/sales-orders"),
    "order_to_subscription": ("billing", "POST", "/subscriptions"),
    "order_to_entitlement": ("support", "POST", "/entitlements"),
    "invoice_to_ar_invoice": ("erp", "POST", "/invoices"),
}
_NOT_BUSINESS = ("/_sim", "/oauth", "/metrics", "/events", "/webhook-endpoints", "/docs")
_STARTERS: tuple[tuple[str, str, FlowName], ...] = (
    ("crm", "opportunity.closed_won", "close_to_order"),
    ("billing", "invoice.finalized", "invoice_to_ar_invoice"),
)
_SENT = frozenset({"delivered", "retrying", "failed"})  # outcomes of an attempt made
_BATCHED: frozenset[FlowName] = frozenset({"invoice_to_ar_invoice"})  # billing's invoice run


def operation_name(method: str, path: str) -> str:
    """``POST /sales-orders`` -> ``post_sales_orders``; an id segment becomes ``item``."""
    parts = [method.lower()]
    for seg in path.split("?")[0].strip("/").split("/"):
        if seg:
            ident = any(c.isdigit() for c in seg) or "_" in seg
            parts.append("item" if ident else seg.replace("-", "_").lower())
    return "_".join(parts)


@dataclass(frozen=True)
class Call:
    system: str
    method: str
    path: str
    corr: str
    start: float
    end: float
    status: int
    fault: str | None

    @property
    def op(self) -> str:
        return operation_name(self.method, self.path)

    @property
    def failed(self) -> bool:
        return self.status >= 429 or bool(self.fault)


@dataclass
class FlowRun:
    """One flow of one deal: latency from ``start`` to ``end``; ``calls`` are its steps
    (from ``steps_from``: later than ``start`` when the model queues it behind another)."""

    flow: FlowName
    deal: str
    start: float
    end: float
    calls: list[Call]
    steps_from: float

    @property
    def latency_s(self) -> float:
        return self.end - self.start

    @property
    def clean(self) -> bool:
        return bool(self.calls) and not any(c.failed for c in self.calls)

    def service_ms(self) -> list[tuple[str, float]]:
        """``(system.op, ms)`` per step: from the previous step's end to this one's."""
        out, prev = [], self.steps_from
        for c in self.calls:
            out.append((f"{c.system}.{c.op}", (c.end - prev) * 1000.0))
            prev = c.end
        return out


@dataclass(frozen=True)
class Batch:
    """The flows one invoice run issued at once (``key``: its ``occurred_at``): the mean of
    their starts (first delivery attempts), and the start of the middleware's first call on
    any of them. The lead between is the batch's pickup (docs/calibration.md)."""

    flow: FlowName
    key: str
    runs: int
    mean_start: float
    first_call: float

    @property
    def lead_s(self) -> float:
        return max(0.0, self.first_call - self.mean_start)


@dataclass
class Observation:
    calls: list[Call]  # every middleware call, by start
    flows: dict[FlowName, list[FlowRun]] = field(default_factory=dict)
    batches: list[Batch] = field(default_factory=list)

    def pickup_s(self, flow: FlowName) -> float | None:
        """The mean lead of ``flow``'s batches, weighted by their flows; None without one."""
        batches = [b for b in self.batches if b.flow == flow]
        runs = sum(b.runs for b in batches)
        return sum(b.lead_s * b.runs for b in batches) / runs if runs else None

    def sequence(self, flow: FlowName) -> tuple[list[str], int]:
        """The flow's most common step sequence among clean runs, and how many had it."""
        seqs = Counter(tuple(s for s, _ in r.service_ms()) for r in self.flows[flow] if r.clean)
        if not seqs:
            return [], 0
        seq, n = seqs.most_common(1)[0]
        return list(seq), n


def _first_sent(raw: RawDump) -> dict[str, float]:
    first: dict[str, float] = {}
    for system in raw.systems:
        for row in raw.rows("deliveries", system):
            at = row.get("wall_at")
            if row.get("outcome") in _SENT and isinstance(at, (int, float)):
                first[row["event_id"]] = min(at, first.get(row["event_id"], at))
    return first


def _calls(raw: RawDump) -> list[Call]:
    calls = []
    for system in raw.systems:
        for e in raw.rows("journal", system):
            corr, path = e.get("correlation_id"), str(e.get("path", ""))
            if not corr or path.startswith(_NOT_BUSINESS):
                continue
            if "wall_at" not in e:
                raise RawProblem(f"{system}'s journal has no wall_at: a simulator older than "
                                 "this golive wrote it; run the live run again")  # fmt: skip
            start = float(e["wall_at"])
            end = start + float(e["duration_ms"]) / 1000.0
            calls.append(Call(system, e["method"], path, corr, start, end, int(e["status"]),
                              e.get("fault")))  # fmt: skip
    calls.sort(key=lambda c: c.start)
    return calls


_Start = tuple[FlowName, str, float, str | None]


def _starts(raw: RawDump, sent: dict[str, float]) -> list[_Start]:
    """(flow, deal, start, batch) of each flow begun by an event the middleware was sent;
    ``batch`` names the invoice run that issued it (None for a flow of its own)."""
    out: list[_Start] = []
    deal_of_sub: dict[str, str] = {}
    for ev in raw.rows("events", "billing"):
        data: dict[str, Any] = ev.get("data") or {}
        if ev.get("type", "").startswith("subscription.") and data.get("external_id"):
            deal_of_sub[data["id"]] = data["external_id"]
    seen: set[tuple[str, str]] = set()
    for system, etype, flow in _STARTERS:
        for ev in raw.rows("events", system):
            data = ev.get("data") or {}
            if ev.get("type") != etype or ev.get("id") not in sent:
                continue
            deal = data.get("id") if flow == "close_to_order" else deal_of_sub.get(
                str(data.get("subscription_id")))  # fmt: skip
            key = (str(deal), str(data.get("id")))
            if deal and key not in seen:
                seen.add(key)
                batch = str(ev.get("occurred_at") or ev["id"]) if flow in _BATCHED else None
                out.append((flow, str(deal), sent[ev["id"]], batch))
    return out


def _finish(flow: FlowName, deal: str, start: float, calls: list[Call],
            claimed: set[tuple[str, int]]) -> Call | None:  # fmt: skip
    """The first 2xx call creating the flow's object after ``start``, not yet taken."""
    system, method, path = FLOW_TARGETS[flow]
    for i, c in enumerate(calls):
        if (c.start >= start and (c.system, c.method, c.path) == (system, method, path)
                and 200 <= c.status < 300 and (deal, i) not in claimed):  # fmt: skip
            claimed.add((deal, i))
            return c
    return None


def _known(call: Call, calls: list[Call]) -> float:
    """When the middleware had ``call``'s answer: its end in the journal, or the start of
    the deal's next call if that came first (a busy machine can pause the simulator
    between sending the answer and noting the time; the middleware's next call already
    shows that it had read it)."""
    later = (c.start for c in calls if call.start < c.start < call.end)
    return min(later, default=call.end)


def _free_from(start: float, first: Call | None, ends: list[float]) -> float:
    """When the middleware was free to take a flow that began at ``start``: the end of its
    last call (any deal's) before the flow's first call, if later. The wait before it is
    the queue the model makes itself (docs/calibration.md, "Queued flows")."""
    if first is None:
        return start
    i = bisect.bisect_right(ends, first.start)
    return max(start, ends[i - 1]) if i else start


def observe(raw: RawDump, *, serial: bool = False) -> Observation:
    """The middleware's calls and flows. ``serial``: the model will run the order's two
    flows one after the other (one worker), so the entitlement's steps start where the
    subscription's ended (its latency still counts from the order)."""
    by_deal: dict[str, list[Call]] = defaultdict(list)
    for c in _calls(raw):
        by_deal[c.corr].append(c)
    obs = Observation([], {f: [] for f in FLOWS})
    claimed: set[tuple[str, int]] = set()
    first_start: dict[str, float] = {}
    starts = _starts(raw, _first_sent(raw))
    begun = {deal: start for flow, deal, start, _ in starts if flow == "close_to_order"}
    ends = sorted(c.end for deal, cs in by_deal.items() if deal in begun
                  for c in cs if c.start >= begun[deal])  # fmt: skip
    batches: dict[str, list[tuple[FlowRun, Call | None]]] = defaultdict(list)
    for flow, deal, start, batch in starts:
        calls = by_deal.get(deal, [])
        first_start[deal] = min(start, first_start.get(deal, start))
        done = _finish(flow, deal, start, calls, claimed)
        if done is None:
            continue
        first = next((c for c in calls if c.start >= start), None)
        free = _free_from(start, first, ends)
        obs.flows[flow].append(_run(flow, deal, start, done.end, calls, free))
        if batch is not None:
            batches[batch].append((obs.flows[flow][-1], first))
        if flow != "close_to_order":
            continue
        sub_end: float | None = None
        ordered = _known(done, calls)
        for nxt in ("order_to_subscription", "order_to_entitlement"):
            end = _finish(nxt, deal, done.start, calls, claimed)
            if end is None:
                continue
            after_sub = serial and sub_end is not None and sub_end <= end.start
            steps_from = sub_end if after_sub else None
            obs.flows[nxt].append(_run(nxt, deal, ordered, end.end, calls, steps_from))
            sub_end = _known(end, calls) if nxt == "order_to_subscription" else sub_end
    _picked_up(obs, by_deal, batches)
    obs.calls = [c for c in sorted((c for cs in by_deal.values() for c in cs),
                                   key=lambda c: c.start)
                 if c.corr in first_start and c.start >= first_start[c.corr]]  # fmt: skip
    return obs


def _picked_up(obs: Observation, by_deal: dict[str, list[Call]],
               batches: dict[str, list[tuple[FlowRun, Call | None]]]) -> None:  # fmt: skip
    """Each batch's lead; its flows' steps count from its first call on, not before: the
    model waits the lead itself (``events.invoice_run_pickup_ms``)."""
    for key, members in batches.items():
        firsts = [first.start for _, first in members if first is not None]
        if not firsts:
            continue
        runs = [run for run, _ in members]
        picked = min(firsts)
        mean_start = sum(r.start for r in runs) / len(runs)
        obs.batches.append(Batch(runs[0].flow, key, len(runs), mean_start, picked))
        flows, ids = obs.flows[runs[0].flow], {id(r) for r in runs}
        for i, run in enumerate(flows):
            if id(run) in ids and run.steps_from < picked:
                flows[i] = _run(run.flow, run.deal, run.start, run.end, by_deal[run.deal],
                                picked)  # fmt: skip


def _run(flow: FlowName, deal: str, start: float, end: float, calls: list[Call],
         steps_from: float | None = None) -> FlowRun:  # fmt: skip
    begin = start if steps_from is None else steps_from
    inside = [c for c in calls if c.start >= begin and c.end <= end]
    return FlowRun(flow, deal, start, end, inside, begin)
