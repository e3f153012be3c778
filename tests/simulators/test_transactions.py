"""Transactions in the five systems: refusals leave nothing, reads write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.kit.state import SystemState
from simulators.testing import SimHarness, sim_client

pytestmark = pytest.mark.anyio

_BALANCED = [{"account": "6000", "debit_minor": 500}, {"account": "1000", "credit_minor": 500}]

# (system, provider states to arrange, method, path, body, status, code): refusals that
# reach the rules (the endpoint ran), several after something was drawn or written.
REFUSALS: list[tuple[str, list[tuple[str, dict[str, Any]]], str, str, Any, int, str]] = [
    ("crm", [("an opportunity in negotiation exists", {})],
     "PATCH", "/opportunities/{opportunity_id}", {"stage": "closed_won"},
     422, "primary_quote_required"),
    ("crm", [("an account exists", {})],
     "POST", "/opportunities", {"account_id": "acc_nobody", "name": "Deal"},
     422, "unknown_account"),
    ("cpq", [("a draft quote exists", {})],
     "POST", "/quotes/{quote_id}/accept", None, 409, "invalid_transition"),
    ("billing", [("an active subscription exists", {})],
     # The first item draws an id before the second is refused: the id stream goes back.
     "PATCH", "/subscriptions/{subscription_id}",
     {"items": [{"sku": "NEW", "unit_amount_minor": 100}, {"quantity": 2}]},
     422, "item_incomplete"),
    ("billing", [("an open invoice exists", {})],
     "POST", "/invoices/{invoice_id}/finalize", None, 409, "invalid_transition"),
    ("billing", [],
     "POST", "/customers",
     {"name": "Declined", "email": "d@x.test", "currency": "USD",
      "payment_method": "4000000000000002"},
     402, "card_declined"),
    ("support", [("an organization exists", {})],
     "POST", "/organizations", {"name": "Acme Corp"}, 409, "duplicate_name"),
    ("support", [("an open case exists", {})],
     "PATCH", "/cases/{case_id}", {"status": "new"}, 409, "invalid_transition"),
    ("erp", [("a customer exists", {}), ("the period is closed", {"name": "2025-06"})],
     "POST", "/journal-entries",
     {"currency": "USD", "posting_date": "2025-06-15", "lines": _BALANCED},
     409, "period_closed"),
    ("erp", [("a customer exists", {}), ("an item exists", {})],
     "POST", "/sales-orders",
     {"customer_id": "{customer_id}",
      "lines": [{"sku": "PLAT-STD", "quantity": 1000, "unit_price_minor": 10**9}]},
     422, "credit_limit_exceeded"),
]  # fmt: skip


def _snapshot(state: SystemState) -> Any:
    rt = state.rt
    return (
        state.export(),
        {n: c._order[:] for n, c in state.store.collections.items()},
        {n: repr(c._indexes) for n, c in state.store.collections.items()},
        state.store._counters.copy(),
        rt.events.all(),
        rt.ids.position,
    )


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _arrange(h: SimHarness, states: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    for name, params in states:
        ids |= await h.call("POST", "/_sim/provider-states", 200,
                            json={"state": name, "params": params})  # fmt: skip
    return ids


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "key"])
@pytest.mark.parametrize(
    ("system", "states", "method", "path", "body", "status", "code"),
    REFUSALS,
    ids=[f"{r[0]}-{r[6]}" for r in REFUSALS],
)
async def test_a_refusal_leaves_objects_indexes_events_counters_and_ids_as_they_were(
    system, states, method, path, body, status, code, keyed
):
    async with sim_client(system) as client:
        h = SimHarness(client)
        ids = await _arrange(h, states)
        before = _snapshot(h.state)
        keys_before = len(h.state.rt.idempotency)
        headers = {"Idempotency-Key": f"refusal-{system}-{code}"} if keyed else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = _fill(body, ids)
        await h.refused(method, _fill(path, ids), status, code, **kwargs)
        assert _snapshot(h.state) == before
        # Stripe's rule: the refusal is the key's saved answer, and nothing else is kept.
        assert len(h.state.rt.idempotency) == keys_before + keyed
        if keyed:
            replay = await client.request(method, _fill(path, ids), **kwargs)
            assert (replay.status_code, replay.headers["idempotent-replayed"]) == (status, "true")
            assert _snapshot(h.state) == before


_CREATES = {
    "crm": ("/accounts", {"name": "Acme"}),
    "cpq": (
        "/products",
        {"sku": "SKU-1", "name": "Thing", "family": "Core", "billing_type": "one_time"},
    ),
    "billing": ("/customers", {"name": "Acme", "email": "a@x.test", "currency": "USD"}),
    "support": ("/organizations", {"name": "Acme"}),
    "erp": ("/customers", {"name": "Acme", "legal_entity": "US01", "currency": "USD"}),
}


@pytest.mark.parametrize("system", sorted(_CREATES))
async def test_a_failure_after_the_first_write_rolls_back_the_whole_request(system, monkeypatch):
    async with sim_client(system) as client:
        h = SimHarness(client)
        path, body = _CREATES[system]
        before = _snapshot(h.state)

        def emit_fails(event_type: str, obj: dict[str, Any]) -> None:
            raise RuntimeError("injected after the first write")

        monkeypatch.setattr(h.state, "emit", emit_fails)
        response = await client.post(path, json=body, headers={"Idempotency-Key": "k"})
        assert response.status_code == 500
        assert response.json()["code"] == "internal_error"
        assert _snapshot(h.state) == before
        assert len(h.state.rt.idempotency) == 0
        monkeypatch.undo()
        await h.call("POST", path, 201, json=body, headers={"Idempotency-Key": "k"})


async def test_a_declined_charge_is_kept_with_its_402():
    async with sim_client("billing") as client:
        h = SimHarness(client)
        ids = await _arrange(h, [("an open invoice exists", {})])
        await h.call("PATCH", f"/customers/{ids['customer_id']}", 200,
                     json={"payment_method": "4000000000000341"})  # fmt: skip
        events_before = len(h.state.rt.events)
        pay = f"/invoices/{ids['invoice_id']}/pay"
        key = {"Idempotency-Key": "pay-1"}
        problem = await h.refused("POST", pay, 402, "card_declined", headers=key)
        payment_id = problem["errors"][0]["payment_id"]
        assert h.state.col("payment").get(payment_id)["status"] == "failed"
        assert h.state.col("invoice").get(ids["invoice_id"])["attempt_count"] == 1
        new_events = [e["type"] for e in h.state.rt.events.all()[events_before:]]
        assert "payment.failed" in new_events


@pytest.mark.parametrize("system", sorted(_CREATES))
async def test_reads_of_every_route_change_nothing(system):
    """Every GET route, with every id the arranged state holds, leaves the state as it was."""
    async with sim_client(system) as client:
        h = SimHarness(client)
        for name in h.state.PROVIDER_STATES:
            await h.call("POST", "/_sim/provider-states", 200, json={"state": name})
        h.state.clock.advance(400 * 86400)  # timers are due: a read must still not run them
        before = _snapshot(h.state)
        ids = [o["id"] for objects in h.state.export().values() for o in objects]
        names = [o.get("name") or o.get("sku") for objs in h.state.export().values()
                 for o in objs if o.get("name") or o.get("sku")]  # fmt: skip
        statuses: set[int] = set()
        for route in client.app.routes:  # type: ignore[attr-defined]
            if "GET" not in getattr(route, "methods", ()) or route.path.startswith("/docs"):
                continue
            params = route.param_convertors
            values = [*ids, *names] if params else [None]
            for value in values:
                path = route.path
                for param in params:
                    path = path.replace("{" + param + "}", str(value))
                response = await client.get(path)
                statuses.add(response.status_code)
                assert response.status_code != 500, (path, response.text)
        assert 200 in statuses
        assert _snapshot(h.state) == before
