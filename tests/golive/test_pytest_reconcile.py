"""The ``golive_reconcile`` fixture of the pytest plugin, on the plugin's own estate."""

from __future__ import annotations

import httpx
import pytest

_T = "2026-11-02T10:00:00.000000Z"


def _seed(golive, system: str, objects: dict) -> None:
    response = httpx.post(f"{golive.url(system)}/_sim/seed", json={"objects": objects},
                          headers=golive.admin_headers)  # fmt: skip
    assert response.status_code == 200, response.text


def _common(obj_id: str, external_id: str | None = None) -> dict:
    return {"id": obj_id, "external_id": external_id, "version": 1, "created_at": _T,
            "updated_at": _T, "correlation_id": None}  # fmt: skip


def test_an_empty_estate_passes(golive_reconcile):
    verdict = golive_reconcile()
    assert verdict.ok
    assert verdict.result("order_per_deal").checked == 0


def test_an_orphan_entitlement_fails_the_test_naming_it(golive, golive_reconcile):
    org = {**_common("org_0000000000000001", "acc_0000000000000001"), "name": "Acme"}
    ent = {**_common("ent_0000000000000001", "sub_0000000000000404"),
           "organization_id": org["id"], "sku": "PLAT-STD", "support_tier": "standard",
           "status": "active", "start_date": "2026-11-02", "end_date": "2027-11-02",
           "subscription_id": "sub_0000000000000404"}  # fmt: skip
    _seed(golive, "support", {"organization": [org], "entitlement": [ent]})
    with pytest.raises(AssertionError) as caught:
        golive_reconcile()
    text = str(caught.value)
    assert text.startswith("reconciliation: 1 violation\n")
    assert "no_orphans" in text
    assert "ent_0000000000000001" in text
    verdict = golive_reconcile(check=False)
    assert [v.invariant for v in verdict.violations] == ["no_orphans"]
