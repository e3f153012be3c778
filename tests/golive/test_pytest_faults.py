"""The ``golive_faults`` fixture of the pytest plugin, on the plugin's own estate."""

from __future__ import annotations

import httpx
import pytest

from golive.faults import FaultRefused
from golive.pytest_plugin import EstateFaults


def test_an_outage_added_by_the_fixture_reaches_the_client(golive_faults, golive_client):
    erp = golive_client("erp")  # signed in before the outage: it answers /oauth/token too
    rule = golive_faults.add("erp", "outage", for_s=60, params={"retry_after_s": 5})
    response = erp.get("/customers")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert golive_client("crm").get("/accounts").status_code == 200
    assert [r["id"] for r in golive_faults.list("erp")] == [rule["id"]]
    assert golive_faults.list("erp")[0]["fired"] == 1


def test_rules_added_in_a_test_are_removed_after_it(golive):
    faults = EstateFaults(golive)
    faults.add("crm", "error", match={"path": "/accounts"}, count=1)
    faults.add("cpq", "latency", params={"fixed_ms": 5})
    faults._teardown()
    for system in ("crm", "cpq"):
        rules = httpx.get(f"{golive.url(system)}/_sim/faults", headers=golive.admin_headers)
        assert rules.json()["data"] == []


def test_a_refused_rule_raises_with_the_simulator_s_reason(golive_faults):
    with pytest.raises(FaultRefused, match=r"params\.retry_after"):
        golive_faults.add("erp", "outage", params={"retry_after": 5})
    with pytest.raises(FaultRefused, match="needs the webhook dispatcher"):
        golive_faults.add("billing", "webhook_down")


def test_remove_and_clear_take_rules_away_during_the_test(golive_faults, golive_client):
    crm = golive_client("crm")
    rule = golive_faults.add("crm", "error", params={"status": 500})
    assert crm.get("/accounts").status_code == 500
    golive_faults.remove("crm", rule["id"])
    assert crm.get("/accounts").status_code == 200
    golive_faults.add("crm", "error")
    golive_faults.clear()
    assert crm.get("/accounts").status_code == 200
