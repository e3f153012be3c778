"""The model against queueing theory: Erlang C, Little's law, duplicate rates."""

from __future__ import annotations

import math

from scenarios.model import simulate
from scenarios.summary import ci95
from scenarios.theory import erlang_c, littles_law_gap, mmc_mean_wait_s
from tests.scenarios.conftest import mmc_spec

REPLICATIONS = 8


def test_erlang_c_matches_a_known_value():
    # c=2, a=1: C = 1/3 (textbook value).
    assert math.isclose(erlang_c(2, 1.0), 1 / 3, rel_tol=1e-12)


def test_mmc_model_mean_wait_is_erlang_c_within_its_confidence_interval():
    lam, mean_service, servers = 2.4, 1.0, 3  # utilisation 0.8
    spec = mmc_spec(servers, lam, mean_service, hours=3)
    waits = [simulate(spec, r).totals["mean_queue_wait_s"] for r in range(REPLICATIONS)]
    stats = ci95(waits)
    theory = mmc_mean_wait_s(lam, 1 / mean_service, servers)
    assert stats["ci_low"] <= theory <= stats["ci_high"], (stats, theory)
    # The interval is tight enough to mean something (not a vacuous pass).
    assert stats["ci_high"] - stats["ci_low"] < 0.3 * theory


def _whole_run(res) -> tuple[float, float]:
    """L and throughput over arrivals and drain, from the two windows' figures."""
    t = res.totals
    drain_s = t["drain_period_s"]
    arrivals_s = res.horizon_s - drain_s
    mean_in_system = t["mean_in_system"] * arrivals_s + t["drain_period_mean_in_system"] * drain_s
    throughput = t["throughput_per_s"] * arrivals_s + t["drain_period_throughput_per_s"] * drain_s
    return mean_in_system / res.horizon_s, throughput / res.horizon_s


def test_littles_law_holds_on_model_outputs(small_erp_outage):
    gaps = []
    for r in range(3):
        res = simulate(small_erp_outage, r)
        mean_in_system, throughput = _whole_run(res)
        gaps.append(littles_law_gap(mean_in_system, throughput, res.totals["mean_sojourn_s"]))
    assert max(gaps) < 0.02, gaps


def test_throughput_and_mean_in_system_are_over_the_arrival_window():
    lam, mean_service = 3.6, 1.0  # 40 servers: hardly any queueing, so L = lambda / mu
    res = simulate(mmc_spec(40, lam, mean_service, hours=2.5), 0)
    t = res.totals
    assert abs(t["throughput_per_s"] / lam - 1) < 0.03
    assert abs(t["mean_in_system"] / (lam * mean_service) - 1) < 0.05
    assert t["drain_period_s"] == 1800
    assert t["drain_period_throughput_per_s"] < 0.01  # what was left when arrivals stopped


def test_the_thinned_backlog_series_keeps_the_mean_and_a_labelled_max():
    import numpy as np

    spec = mmc_spec(3, 2.4, 1.0, hours=3, sample_interval_s=1)
    res = simulate(spec, 0)
    s = res.series
    assert len(s["t_s"]) < 1000 < spec.horizon_s / spec.sample_interval_s  # thinned
    mean_in_system, _ = _whole_run(res)
    assert abs(np.mean(s["backlog"]) / mean_in_system - 1) < 0.05
    assert all(hi >= lo for hi, lo in zip(s["backlog_max"], s["backlog"], strict=True))
    assert np.mean(s["backlog_max"]) > 1.2 * np.mean(s["backlog"])


def test_without_idempotency_duplicates_reach_the_erp_at_the_duplicate_rate():
    d = 0.1
    spec = mmc_spec(4, 2.0, 0.5, hours=2,
                    events={"webhook_latency_ms": 0, "duplicate_rate": d},
                    middleware={"workers": 4, "idempotency": False,
                                "circuit_breaker": {"enabled": False}})  # fmt: skip
    reached = deliveries = 0
    for r in range(3):
        res = simulate(spec, r)
        reached += res.flows["close_to_order"]["duplicates_reached"]
        deliveries += res.deals
    rate = reached / deliveries
    tolerance = 3 * math.sqrt(d * (1 - d) / deliveries)  # 3 binomial standard errors
    assert abs(rate - d) <= tolerance, (rate, tolerance)


def test_with_idempotency_no_duplicate_reaches_a_system():
    spec = mmc_spec(4, 2.0, 0.5, hours=1, events={"webhook_latency_ms": 0, "duplicate_rate": 0.2})
    res = simulate(spec, 0)
    assert res.totals["duplicates_delivered"] > 0
    assert res.totals["duplicates_reached"] == 0
