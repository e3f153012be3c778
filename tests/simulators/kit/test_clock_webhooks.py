"""The estate clock and the webhook dispatcher: a retry is delivered at its own instant."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from golive.estateclock import EstateClock, parse_utc
from simulators.estate import Estate, running_estate


@pytest.fixture
def crm() -> Iterator[Estate]:
    with running_estate(["crm"]) as estate:
        yield estate


def test_a_jump_stops_at_a_webhook_retry_and_the_step_waits_for_its_delivery(crm, wire):
    answers: list[int] = [503]  # down once, then up
    got: list[str] = []

    async def hook(request: Request) -> Response:
        got.append(request.headers["webhook-id"])
        return Response(status_code=answers.pop(0) if answers else 200)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    url = crm.url("crm")
    with wire.serving(app) as receiver, EstateClock({"crm": url}) as clock:
        clock.freeze("2031-06-01T00:00:00Z")
        with crm.client("crm") as c:
            endpoint = {"url": f"{receiver}/hook", "events": ["account.created"]}
            c.post("/webhook-endpoints", json=endpoint).raise_for_status()
            c.post("/accounts", json={"name": "Acme"}).raise_for_status()
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/_sim/deliveries").json()["pending"] or not got:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        view = clock.show()["crm"]
        retry_at = parse_utc(view["next_delivery_at"]).timestamp()
        assert 5 <= retry_at - parse_utc("2031-06-01T00:00:00Z").timestamp() <= 5.6
        result = clock.advance(hours=6)
        assert result.ok
        assert result.steps == 2  # to the retry, then (nothing due) to the target
        attempts: list[dict[str, Any]] = httpx.get(f"{url}/_sim/deliveries").json()["data"]
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "retrying"), (2, "delivered")]
    assert parse_utc(attempts[1]["attempted_at"]).timestamp() == pytest.approx(retry_at, abs=1e-3)
    assert got[0] == got[1]
