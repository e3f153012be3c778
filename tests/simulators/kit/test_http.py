"""If-Match as RFC 9110 defines it, and cursors bound to the list they came from."""

from __future__ import annotations

import pytest

from simulators.kit.errors import SimError
from simulators.kit.http import expected_version
from simulators.testing import SimHarness, sim_client

pytestmark = pytest.mark.anyio


@pytest.fixture
async def crm():
    async with sim_client("crm") as client:
        yield SimHarness(client)


async def _account(crm: SimHarness, name: str = "Acme", **fields) -> dict:
    return await crm.call("POST", "/accounts", 201, json={"name": name, **fields})


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        ('"1"', {1}),
        (' "1" , "3",,"7" ', {1, 3, 7}),
        ('W/"1"', set()),
        ('W/"1", "2"', {2}),
        ('"abc"', set()),  # well-formed, but none of our tags: matches nothing
        ('"a,b", "4"', {4}),  # a comma inside a tag belongs to the tag
        ('"' + "9" * 40 + '"', set()),
    ],
)
def test_if_match_lists_and_strong_comparison(header, versions):
    assert expected_version(header) == frozenset(versions)


@pytest.mark.parametrize("header", [None, "*", " * "])
def test_if_match_star_or_absent_sets_no_precondition(header):
    assert expected_version(header) is None


@pytest.mark.parametrize(
    "header", ['"\xb2"', "\xb2", "1", '"1', '"1" "2"', "", ",", '*, "1"', 'w/"1"', '"1"x']
)
def test_malformed_if_match_is_refused_with_400(header):
    with pytest.raises(SimError) as refused:
        expected_version(header)
    assert refused.value.status == 400
    assert refused.value.code == "invalid_if_match"


async def test_a_weak_tag_never_matches_and_gets_412(crm):
    account = await _account(crm)
    url = f"/accounts/{account['id']}"
    await crm.refused("PATCH", url, 412, "precondition_failed",
                      json={"name": "B"}, headers={"If-Match": 'W/"1"'})  # fmt: skip
    await crm.call("PATCH", url, 200, json={"name": "B"}, headers={"If-Match": '"7", "1"'})
    await crm.call("PATCH", url, 200, json={"name": "C"}, headers={"If-Match": "*"})
    await crm.refused("PATCH", url, 412, "precondition_failed",
                      json={"name": "D"}, headers={"If-Match": '"1", "2"'})  # fmt: skip


async def test_a_non_ascii_if_match_is_a_400_problem_not_a_500(crm):
    account = await _account(crm)
    body = await crm.refused(
        "PATCH", f"/accounts/{account['id']}", 400, "invalid_if_match",
        json={"name": "B"}, headers=[("If-Match", b'"\xb2"')],
    )  # fmt: skip
    assert body["errors"][0]["field"] == "If-Match"


async def test_a_cursor_only_continues_its_own_list(crm):
    parent = await _account(crm, "Parent")
    for n in range(3):
        await _account(crm, f"Sub {n}", parent_id=parent["id"])
    cursor = (await crm.call("GET", "/accounts?limit=1", 200))["next_cursor"]
    assert cursor
    await crm.refused("GET", f"/contacts?cursor={cursor}", 422, "invalid_cursor")
    await crm.refused(
        "GET", f"/accounts?parent_id={parent['id']}&cursor={cursor}", 422, "invalid_cursor"
    )
    page = await crm.call("GET", f"/accounts?limit=1&cursor={cursor}", 200)
    assert [a["name"] for a in page["data"]] == ["Sub 0"]
    sub_cursor = (await crm.call("GET", f"/accounts?parent_id={parent['id']}&limit=1", 200))[
        "next_cursor"
    ]
    page = await crm.call("GET", f"/accounts?parent_id={parent['id']}&cursor={sub_cursor}", 200)
    assert [a["name"] for a in page["data"]] == ["Sub 1", "Sub 2"]
