"""SimRoute must answer exactly as FastAPI's own handler does, only faster."""

from __future__ import annotations

from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter, Header
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from simulators.kit.app import build_app
from simulators.kit.errors import Conflict
from simulators.kit.http import object_response
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime
from simulators.kit.state import SystemState
from simulators.kit.store import CollectionSpec
from simulators.testing import sim_client

pytestmark = pytest.mark.anyio


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=20)
    seats: int = Field(1, ge=1)


class _State(SystemState):
    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (CollectionSpec("account"),)


def _app(route_class: type[APIRoute]):
    state = _State(Runtime("crm"))
    r = APIRouter(route_class=route_class)

    @r.post("/things/{thing_id}", status_code=201)
    async def make(thing_id: str, body: _Body, if_match: str | None = Header(None)) -> Response:
        return object_response(
            {"id": thing_id, "version": 1, "name": body.name, "if_match": if_match}, 201
        )

    @r.get("/things")
    async def listing(limit: int = 10):
        return object_response({"id": "x", "version": 1, "limit": limit})

    @r.post("/boom/{thing_id}")
    async def boom(thing_id: str, body: _Body) -> Response:
        raise Conflict("thing_exists", f"{thing_id} is there already")

    return build_app(state, r, title="t", description="t")


CASES = [
    ({"json": {"name": "ok", "seats": 3}}, {}),
    ({"json": {"name": "ok"}}, {"If-Match": '"4"'}),
    ({"json": {"name": ""}}, {}),
    ({"json": {"name": "ok", "colour": "red"}}, {}),
    ({"json": {"seats": "many"}}, {}),
    ({"content": b"{not json"}, {"Content-Type": "application/json"}),
    ({"content": b""}, {"Content-Type": "application/json"}),
    ({"content": b"\xff\xfe"}, {"Content-Type": "application/json"}),
    ({"content": b"name=ok"}, {"Content-Type": "text/plain"}),
    ({"json": None}, {}),
]


@pytest.mark.parametrize(("body", "headers"), CASES)
async def test_sim_route_answers_like_fastapi(body, headers):
    responses = []
    for route_class in (APIRoute, SimRoute):
        async with sim_client("crm", app=_app(route_class)) as c:
            r = await c.post("/things/t_1", headers=headers, **body)
            responses.append((r.status_code, r.content, r.headers.get("content-type")))
    assert responses[0] == responses[1]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/things/t_1"),
        ("GET", "/things/t_1"),  # the path matches, the method does not: 405
        ("POST", "/thingsx/t_1"),  # shares the route's head text but not its pattern
        ("POST", "/thing/t_1"),
        ("POST", "/things/t_1/"),
        ("POST", "/things/"),
        ("POST", "/boom/t_1"),  # a refusal raised in a plain endpoint
    ],
)
async def test_sim_route_matches_and_refuses_like_fastapi(method, path):
    responses = []
    for route_class in (APIRoute, SimRoute):
        async with sim_client("crm", app=_app(route_class)) as c:
            r = await c.request(method, path, json={"name": "ok"})
            responses.append((r.status_code, r.content, r.headers.get("location")))
    assert responses[0] == responses[1]
    assert responses[1][0] != 500


@pytest.mark.parametrize(
    ("path", "root_path"),
    [
        ("/api/things/t_1", "/api"),
        ("/things/t_1", ""),
        ("/api/thingsx/t_1", "/api"),
        ("/api", "/api"),
    ],
)
def test_sim_route_matches_as_apiroute_under_a_root_path(path, root_path):
    app = _app(SimRoute)
    for route in (r for r in app.routes if isinstance(r, SimRoute)):
        scope = {"type": "http", "method": "POST", "path": path, "root_path": root_path}
        assert route.matches(dict(scope)) == APIRoute.matches(route, dict(scope)), route.path


async def test_routes_with_query_parameters_keep_fastapis_handler():
    app = _app(SimRoute)
    routes = {r.path: r for r in app.routes if isinstance(r, SimRoute)}
    assert routes["/things/{thing_id}"]._plan() is not None
    assert routes["/things"]._plan() is None
    async with sim_client("crm", app=app) as c:
        assert (await c.get("/things", params={"limit": 3})).json()["limit"] == 3
        assert (await c.get("/things", params={"limit": "x"})).status_code == 422


async def test_an_endpoint_that_returns_no_response_runs_once_through_fastapi():
    state = _State(Runtime("crm"))
    calls = []
    r = APIRouter(route_class=SimRoute)

    @r.post("/plain", status_code=201)
    async def plain(body: _Body) -> dict[str, str]:
        calls.append(body.name)
        return {"name": body.name}

    async with sim_client("crm", app=build_app(state, r, title="t", description="t")) as c:
        resp = await c.post("/plain", json={"name": "once"})
        assert (resp.status_code, resp.json()) == (201, {"name": "once"})
        assert calls == ["once"]


def test_the_simulators_use_the_fast_route_for_their_plain_endpoints():
    from simulators.registry import SYSTEMS, create_app

    for system in SYSTEMS:
        fast = [r for r in create_app(system).routes if isinstance(r, SimRoute) and r._plan()]
        assert len(fast) >= 5, system


async def test_wire_behaviour_is_unchanged_for_a_real_client():
    async with sim_client("crm") as c:
        assert isinstance(c, httpx.AsyncClient)
        r = await c.post("/accounts", content=b"x", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415
        assert r.headers["content-type"] == "application/problem+json"


def test_matching_filters_on_given_values_only_and_compares_enums_by_value():
    from lifecycle.states import QuoteStatus
    from simulators.kit.http import matching

    assert matching(status=None, account_id=None) is None
    keep = matching(status=QuoteStatus.DRAFT, account_id="acc_1")
    assert keep({"status": "draft", "account_id": "acc_1"})
    assert not keep({"status": "draft", "account_id": "acc_2"})
    assert not keep({"status": "approved", "account_id": "acc_1"})


def test_documentation_routes_come_last_and_share_no_first_segment():
    # build_app moves FastAPI's /openapi.json and /docs behind the business routes;
    # that changes no match only while no other route starts with their first segment.
    from simulators.registry import SYSTEMS, create_app

    def first_segment(path: str) -> str:
        return path.split("/")[1]

    for system in SYSTEMS:
        routes = create_app(system).routes
        docs = [r for r in routes if not isinstance(r, APIRoute)]
        assert {r.path for r in docs} >= {"/openapi.json", "/docs"}, system
        assert routes[-len(docs) :] == docs, system
        others = {first_segment(r.path) for r in routes if isinstance(r, APIRoute)}
        assert not {first_segment(r.path) for r in docs} & others, system
        assert not any(segment.startswith("{") for segment in others), system
