"""Small scenario specs shared by the scenario tests (fast: seconds, seeded)."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.spec import ScenarioSpec


def mmc_spec(servers: int, arrivals_per_s: float, mean_service_s: float, hours: float,
             **extra: Any) -> ScenarioSpec:  # fmt: skip
    """An M/M/c configuration of the estate model: one flow, one exponential call."""
    data: dict[str, Any] = {
        "name": "mmc",
        "seed": 1,
        "duration_hours": hours,
        "drain_hours": 0.5,
        "sample_interval_s": 60,
        "arrivals": {
            "baseline_deals_per_hour": arrivals_per_s * 3600,
            "business_hours": None,
            "month_end": {"multiplier": 1},
            "quarter_end": {"multiplier": 1},
        },
        "events": {"webhook_latency_ms": 0},
        "systems": {
            "erp": {
                "concurrency_limit": 10_000,
                "rate_limit_per_s": None,
                "operations": {
                    "create_order": {"distribution": "exponential", "mean_ms": mean_service_s * 1e3}
                },
            }
        },
        "flows": {
            "close_to_order": {"steps": ["erp.create_order"]},
            "order_to_subscription": {"enabled": False, "steps": ["billing.create_subscription"]},
            "order_to_entitlement": {"enabled": False, "steps": ["support.create_entitlement"]},
            "invoice_to_ar_invoice": {"enabled": False, "steps": ["erp.create_ar_invoice"]},
        },
        "middleware": {"workers": servers, "circuit_breaker": {"enabled": False},
                       "timeout_s": 86_400},
    }  # fmt: skip
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return ScenarioSpec.model_validate(data)


@pytest.fixture
def small_erp_outage() -> ScenarioSpec:
    """The library's erp-outage at a tenth of the volume (a second per replication)."""
    from scenarios.catalog import load_scenario

    return load_scenario("erp-outage", ["arrivals.baseline_deals_per_hour=15"])
