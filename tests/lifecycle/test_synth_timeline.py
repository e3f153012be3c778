"""An independent reader's checks of generated data: time runs forward, won deals are whole,
and deals close on business days.

It reads only the files (as a team seeding staging would), never the generator's
internals, and walks every object and event over a few seeds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lifecycle.synth import SynthParams, generate

Obj = dict[str, Any]
Objects = dict[str, list[Obj]]

# (seed, accounts): small runs that between them cover expansions, dunning, churn, renewals.
_RUNS = [(5, 60), (11, 40), (23, 40), (90, 40), (101, 30)]
_AS_OF = "2026-11-01T00:00:00.000000Z"
# The README's table of each country's business time zone (standard time, in hours).
_UTC_OFFSET_H = {"US": -5, "CA": -5, "GB": 0, "DE": 1, "FR": 1, "SE": 1, "AU": 10, "JP": 9,
                 "SG": 8, "BR": -3, "MX": -6}  # fmt: skip


def _read(folder: Path) -> tuple[Objects, list[Obj]]:
    objs: Objects = {}
    for path in sorted(folder.glob("*.ndjson")):
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        if path.stem == "events":
            events = rows
        else:
            objs[path.stem] = rows
    return objs, events


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Objects, list[Obj]]]:
    out = []
    for seed, accounts in _RUNS:
        folder = tmp_path_factory.mktemp(f"seed{seed}")
        generate(SynthParams(accounts=accounts, seed=seed, events=True), folder)
        out.append(_read(folder))
    return out


def _all(objs: Objects) -> Iterator[tuple[str, Obj]]:
    for object_type, records in objs.items():
        for record in records:
            yield object_type, record


def test_every_object_exists_by_the_world_s_now_and_changes_after_it_was_created(
    runs: list[tuple[Objects, list[Obj]]],
) -> None:
    for objs, _ in runs:
        for object_type, o in _all(objs):
            assert o["created_at"] <= o["updated_at"] <= _AS_OF, (object_type, o["id"])


def test_every_event_happens_once_its_object_exists(
    runs: list[tuple[Objects, list[Obj]]],
) -> None:
    for objs, events in runs:
        created = {o["id"]: o["created_at"] for _, o in _all(objs)}
        for e in events:
            data = e["data"]
            assert e["occurred_at"] <= _AS_OF
            assert e["occurred_at"] >= created[data["id"]], (e["type"], data["id"])
            assert e["occurred_at"] >= data["created_at"], (e["type"], data["id"])


def _after(later: Obj, earlier: Obj, what: str) -> None:
    assert later["created_at"] >= earlier["created_at"], (what, earlier["id"], later["id"])


def test_each_downstream_object_comes_after_the_one_it_follows_from(
    runs: list[tuple[Objects, list[Obj]]],
) -> None:
    for objs, _ in runs:
        by_id = {o["id"]: o for _, o in _all(objs)}
        customers = {o["crm_account_id"]: o for t in ("billing_customer", "organization",
                     "erp_customer") for o in objs[t]}  # fmt: skip
        order_of = {so["external_id"]: so for so in objs["sales_order"]}
        paid_at = {p["invoice_id"]: p["created_at"] for p in objs["payment"]
                   if p["status"] == "succeeded"}  # fmt: skip
        for so in objs["sales_order"]:
            opp = by_id[so["opportunity_id"]]
            assert so["created_at"] >= opp["closed_at"], so["id"]
        for sub in objs["subscription"]:
            _after(sub, order_of[sub["external_id"]], "order -> subscription")
            _after(sub, by_id[sub["customer_id"]], "customer -> subscription")
        for ent in objs["entitlement"]:
            _after(ent, by_id[ent["subscription_id"]], "subscription -> entitlement")
            _after(ent, by_id[ent["organization_id"]], "organization -> entitlement")
        for ur in objs["usage_record"]:
            _after(ur, by_id[ur["subscription_id"]], "subscription -> usage")
        for inv in objs["invoice"]:
            _after(inv, by_id[inv["subscription_id"]], "subscription -> invoice")
        for ar in objs["ar_invoice"]:
            inv = by_id[ar["external_id"]]
            assert ar["created_at"] >= inv["finalized_at"], ("invoice -> AR", ar["id"])
            _after(ar, by_id[ar["sales_order_id"]], "order -> AR")
        for pay in objs["payment"]:
            assert pay["created_at"] >= by_id[pay["invoice_id"]]["finalized_at"], pay["id"]
        for rc in objs["receipt"]:
            for application in rc["applications"]:
                _after(rc, by_id[application["ar_invoice_id"]], "AR -> receipt")
            invoice_id = by_id[rc["applications"][0]["ar_invoice_id"]]["external_id"]
            assert rc["created_at"] >= paid_at[invoice_id], ("payment -> receipt", rc["id"])
        for cn in objs["credit_note"]:
            assert cn["created_at"] >= by_id[cn["invoice_id"]]["paid_at"], cn["id"]
        for case in objs["case"]:
            _after(case, by_id[case["organization_id"]], "organization -> case")
            if case["entitlement_id"] is not None:
                _after(case, by_id[case["entitlement_id"]], "entitlement -> case")
        for c in objs["contact"]:
            _after(c, by_id[c["account_id"]], "account -> contact")
        for q in objs["quote"]:
            _after(q, by_id[q["opportunity_id"]], "opportunity -> quote")
        for a in objs["account"]:
            if a["parent_id"] is not None:
                _after(a, by_id[a["parent_id"]], "parent -> subsidiary")
            if a["id"] in customers:
                _after(customers[a["id"]], a, "account -> customer")


def test_every_closed_won_deal_has_its_order_subscription_and_entitlement(
    runs: list[tuple[Objects, list[Obj]]],
) -> None:
    for objs, _ in runs:
        orders = Counter(so["external_id"] for so in objs["sales_order"])
        subs = {s["external_id"]: s for s in objs["subscription"]}
        ents = Counter(e["subscription_id"] for e in objs["entitlement"])
        for o in objs["opportunity"]:
            if o["stage"] != "closed_won":
                continue
            assert orders[o["id"]] == 1, ("no order", o["id"], o["type"])
            assert o["id"] in subs, ("no subscription", o["id"], o["type"])
            assert ents[subs[o["id"]]["id"]] == 1, ("no entitlement", o["id"])


def _local(stamp: str, country: str) -> datetime:
    utc = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return utc + timedelta(hours=_UTC_OFFSET_H[country])


def test_deals_close_on_business_days_in_the_account_s_time_zone(
    runs: list[tuple[Objects, list[Obj]]],
) -> None:
    closes = weekend = 0
    for objs, _ in runs:
        country = {a["id"]: a["country"] for a in objs["account"]}
        for o in objs["opportunity"]:
            if o["closed_at"] is None:
                continue
            local = _local(o["closed_at"], country[o["account_id"]])
            assert local.date().isoformat() == o["close_date"], o["id"]
            assert 8 <= local.hour < 20, (o["id"], local)
            closes += 1
            if local.weekday() >= 5:
                weekend += 1
                # A weekend close is the push in the last week of a quarter, nothing else.
                d = local.date()
                month_end = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
                assert d.month % 3 == 0, o["id"]
                assert (month_end - d).days <= 7, o["id"]
    assert closes > 100
    assert weekend / closes < 0.02


def test_won_deals_still_bunch_at_month_and_quarter_end(tmp_path: Path) -> None:
    generate(SynthParams(accounts=400, seed=5), tmp_path)
    won = [json.loads(line) for line in (tmp_path / "opportunity.ndjson").read_text().splitlines()]
    days = [date.fromisoformat(o["close_date"]) for o in won if o["stage"] == "closed_won"]
    month_end = quarter_end = 0
    for d in days:
        last = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        if (last - d).days < 3:
            month_end += 1
            quarter_end += d.month % 3 == 0
    assert month_end / len(days) > 0.18
    assert quarter_end / len(days) > 0.11
