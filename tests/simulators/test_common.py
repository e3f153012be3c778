"""What every simulator does the same way (docs/api.md), checked on all five."""

from __future__ import annotations

import re

import pytest

from simulators.kit.params import ID_PATTERN
from simulators.registry import SYSTEMS
from simulators.testing import sim_client, state_of

pytestmark = pytest.mark.anyio

METHODS = ("get", "post", "put", "patch", "delete")


def _business_operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS and {"bearerAuth": []} in op.get("security", []):
                yield method, re.sub(r"\{[^}]+\}", "x_1", path), op


@pytest.mark.parametrize("system", SYSTEMS)
async def test_every_business_operation_needs_a_valid_unexpired_token(system):
    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        ops = list(_business_operations(doc))
        assert len(ops) >= 5, "the document lists the business operations"
        state_of(c.app).rt.tokens.ttl_s = -1  # tokens issued from now on are born expired
        expired = "Bearer " + (
            await c.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "golive",
                      "client_secret": "golive-secret"},
            )
        ).json()["access_token"]  # fmt: skip
        for method, path, op in ops:
            assert "401" in op["responses"], f"{method} {path} does not document 401"
            for auth, code in (
                (None, "missing_token"),
                ("Bearer not-a-token", "invalid_token"),
                ("Basic Z29saXZlOmdvbGl2ZQ==", "invalid_token"),
                (expired, "token_expired"),
            ):
                headers = {} if auth is None else {"Authorization": auth}
                c.headers.pop("Authorization", None)
                r = await c.request(method.upper(), path, headers=headers, json={})
                assert r.status_code == 401, (method, path, auth, r.status_code)
                assert r.json()["code"] == code
                assert r.headers["content-type"] == "application/problem+json"
                assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("system", SYSTEMS)
async def test_openapi_is_3_1_and_documents_problem_responses(system):
    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        assert doc["openapi"].startswith("3.1")
        assert "Problem" in doc["components"]["schemas"]
        assert "HTTPValidationError" not in doc["components"]["schemas"]
        for method, path, op in _business_operations(doc):
            for status in ("401", "429", "503"):
                assert status in op["responses"], (method, path, status)
            if method in {"post", "patch"}:
                assert {"409", "422"} <= set(op["responses"]), (method, path)
            if method == "patch":
                assert "412" in op["responses"], (method, path)


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({}, 400, "invalid_request"),
        ({"grant_type": "password", "client_id": "golive", "client_secret": "x"}, 400,
         "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "client_id": "golive", "client_secret": "no"}, 401,
         "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, 401,
         "invalid_client"),
    ],
)  # fmt: skip
async def test_token_endpoint_refuses_bad_requests_with_oauth_codes(form, status, code):
    async with sim_client("crm") as c:
        r = await c.post("/oauth/token", data=form)
        assert r.status_code == status
        assert r.json()["code"] == code


async def test_token_endpoint_refuses_json_bodies():
    async with sim_client("crm") as c:
        r = await c.post("/oauth/token", json={"grant_type": "client_credentials"})
        assert r.status_code == 400


async def test_a_token_of_one_system_is_refused_by_another():
    async with sim_client("crm") as crm, sim_client("erp") as erp:
        r = await erp.get("/events", headers={"Authorization": crm.headers["Authorization"]})
        assert r.status_code == 401


async def test_unknown_route_and_wrong_method_are_problem_json():
    async with sim_client("crm") as c:
        r = await c.get("/nope")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        r = await c.delete("/accounts")
        assert r.status_code == 405
        assert r.json()["code"] == "method_not_allowed"


async def test_malformed_json_and_wrong_types_are_422_with_field_errors():
    async with sim_client("crm") as c:
        r = await c.post(
            "/accounts", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422
        r = await c.post("/accounts", json={"name": 5, "segment": "huge"})
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "validation_failed"
        assert {e["field"] for e in body["errors"]} >= {"body.name", "body.segment"}


async def test_pagination_walks_every_object_once_in_order():
    async with sim_client("crm") as c:
        ids = [(await c.post("/accounts", json={"name": f"A{i}"})).json()["id"] for i in range(7)]
        seen, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await c.get("/accounts", params=params)).json()
            seen += [a["id"] for a in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ids
        for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "garbage!"}):
            r = await c.get("/accounts", params=bad)
            assert r.status_code == 422, bad


async def test_event_feed_is_ordered_and_replayable_from_any_event():
    async with sim_client("crm") as c:
        for i in range(5):
            await c.post("/accounts", json={"name": f"A{i}"}, headers={"X-Correlation-Id": f"c{i}"})
        everything = (await c.get("/events")).json()["data"]
        assert [e["correlation_id"] for e in everything] == [f"c{i}" for i in range(5)]
        assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
        page = (await c.get("/events", params={"after": everything[1]["id"], "limit": 2})).json()
        assert [e["id"] for e in page["data"]] == [e["id"] for e in everything[2:4]]
        assert page["next_cursor"] == everything[3]["id"]
        tail = (await c.get("/events", params={"after": page["next_cursor"]})).json()
        assert [e["id"] for e in tail["data"]] == [everything[4]["id"]]
        assert tail["next_cursor"] is None
        r = await c.get("/events", params={"after": "evt_erp_000000000001"})
        assert r.status_code == 422


async def test_correlation_id_is_echoed_stored_and_put_on_events():
    async with sim_client("crm") as c:
        r = await c.post("/accounts", json={"name": "A"}, headers={"X-Correlation-Id": "deal-42"})
        assert r.headers["x-correlation-id"] == "deal-42"
        assert r.json()["correlation_id"] == "deal-42"
        event = (await c.get("/events")).json()["data"][0]
        assert event["correlation_id"] == "deal-42"
        journal = (await c.get("/_sim/journal", params={"correlation_id": "deal-42"})).json()
        assert [(e["method"], e["path"], e["status"]) for e in journal["data"]] == [
            ("POST", "/accounts", 201)
        ]


async def test_metrics_count_requests_by_route_template_and_status():
    async with sim_client("crm") as c:
        account = (await c.post("/accounts", json={"name": "A"})).json()
        await c.get(f"/accounts/{account['id']}")
        await c.get("/accounts/acc_missing")
        text = (await c.get("/metrics")).text
        assert 'route="/accounts/{account_id}",status="200"} 1' in text
        assert 'route="/accounts/{account_id}",status="404"} 1' in text
        assert "golive_request_duration_seconds_bucket" in text
        assert 'golive_objects_account{system="crm"} 1.0' in text


def _string_schemas(schema):
    """The string alternatives of a parameter schema (``str | None`` is an anyOf)."""
    options = schema.get("anyOf", [schema])
    return [o for o in options if o.get("type") == "string" and "enum" not in o]


@pytest.mark.parametrize("system", SYSTEMS)
async def test_every_list_filter_is_bounded_and_ids_match_the_id_pattern(system):
    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        checked = 0
        for method, path, op in _business_operations(doc):
            if method != "get":
                continue
            for param in op.get("parameters", []):
                if param["in"] != "query":
                    continue
                for schema in _string_schemas(param["schema"]):
                    assert schema.get("maxLength", 10**9) <= 255, (path, param["name"])
                    if param["name"].endswith("_id") and param["name"] != "external_id":
                        assert schema.get("pattern") == ID_PATTERN, (path, param["name"])
                    checked += 1
                if param["name"].endswith("_id") and param["name"] != "external_id":
                    r = await c.get(path, params={param["name"]: "x" * 300})
                    assert r.status_code == 422, (path, param["name"], r.text)
        assert checked >= 3


@pytest.mark.parametrize("system", SYSTEMS)
async def test_an_unknown_query_parameter_is_400_on_every_business_operation(system):
    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        for method, path, op in _business_operations(doc):
            assert "400" in op["responses"], (method, path)
            r = await c.request(method.upper(), path, params={"no_such_filter": "x"}, json={})
            assert r.status_code == 400, (method, path, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            body = r.json()
            assert body["code"] == "unknown_parameter", (method, path)
            assert body["errors"] == [
                {"field": "query.no_such_filter", "message": "not a parameter of this endpoint"}
            ]


@pytest.mark.parametrize("system", SYSTEMS)
async def test_every_list_of_objects_filters_on_external_id(system):
    """Middlewares look objects up by the id they gave them."""
    async with sim_client(system) as c:
        doc = (await c.get("/openapi.json")).json()
        lists = 0
        for method, path, op in _business_operations(doc):
            ok = op["responses"].get("200", {}).get("content", {}).get("application/json", {})
            ref = ok.get("schema", {}).get("$ref", "")
            page = doc["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
            items = page.get("properties", {}).get("data", {}).get("items", {})
            item = doc["components"]["schemas"].get(items.get("$ref", "").rsplit("/", 1)[-1], {})
            if method != "get" or "x_1" in path or "external_id" not in item.get("properties", {}):
                continue
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            assert "external_id" in names, path
            r = await c.get(path, params={"external_id": "DOES-NOT-EXIST"})
            assert r.status_code == 200, (path, r.text)
            assert r.json()["data"] == [], path
            lists += 1
        assert lists >= 3
