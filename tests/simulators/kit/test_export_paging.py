"""``GET /_sim/export?type=&limit=&cursor=``: one object type, a page at a time."""

from __future__ import annotations

import pytest

from simulators.testing import sim_client

pytestmark = pytest.mark.anyio


def _account(n: int) -> dict:
    return {
        "id": f"acc_page{n:012d}", "external_id": None, "version": 1,
        "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z",
        "correlation_id": None, "name": f"Paged {n}", "parent_id": None, "segment": "smb",
        "region": "na", "country": "US", "currency": "USD", "industry": None, "website": None,
        "owner": None,
    }  # fmt: skip


async def test_pages_walk_one_type_in_insertion_order_to_the_end():
    accounts = [_account(n) for n in range(5)]
    async with sim_client("crm") as c:
        assert (await c.post("/_sim/seed", json={"objects": {"account": accounts}})).is_success
        seen, cursor = [], None
        for _ in range(5):
            params = {"type": "account", "limit": 2, **({"cursor": cursor} if cursor else {})}
            body = (await c.get("/_sim/export", params=params)).json()
            assert set(body["objects"]) == {"account"}
            seen += body["objects"]["account"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == accounts
        whole = (await c.get("/_sim/export")).json()
        assert whole["objects"]["account"] == accounts  # the whole-export form is unchanged
        assert "next_cursor" not in whole
        empty = (await c.get("/_sim/export", params={"type": "contact"})).json()
        assert empty["objects"] == {"contact": []}
        assert empty["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"type": "invoice"}, "unknown_object_type"),
        ({"type": "webhook_endpoint"}, "unknown_object_type"),
        ({"type": "account", "cursor": "x1"}, "invalid_cursor"),
        ({"type": "account", "cursor": "99"}, "invalid_cursor"),
        ({"cursor": "0"}, "invalid_export_page"),
    ],
)
async def test_bad_pages_are_problem_json_422(params, code):
    async with sim_client("crm") as c:
        r = await c.get("/_sim/export", params=params)
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code
