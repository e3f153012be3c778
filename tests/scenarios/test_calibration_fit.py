"""The fits of a calibration on synthetic samples with known parameters (seeded), and the
model taking what they produce: empirical quantile tables and baseline error rates."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from pydantic import ValidationError

from scenarios.calibration.fit import (
    ErrorCounts,
    concurrency,
    fit_service,
    lognormal_by_moments,
    quantile_table,
)
from scenarios.calibration.observe import operation_name
from scenarios.model import simulate
from scenarios.spec import OperationSpec
from tests.scenarios.conftest import mmc_spec

_Z99 = 2.3263478740408408


def test_lognormal_by_moments_recovers_known_parameters() -> None:
    rng = np.random.default_rng(11)
    mu, sigma = math.log(40.0), 0.5
    fitted_mu, fitted_sigma = lognormal_by_moments(rng.lognormal(mu, sigma, 50_000).tolist())
    assert fitted_mu == pytest.approx(mu, abs=0.01)
    assert fitted_sigma == pytest.approx(sigma, rel=0.03)


def test_few_samples_give_a_lognormal_many_an_empirical_table() -> None:
    rng = np.random.default_rng(5)
    few = fit_service(rng.lognormal(math.log(40.0), 0.4, 20).tolist())
    assert few["distribution"] == "lognormal"
    assert few["p50_ms"] == pytest.approx(40.0, rel=0.2)  # 20 samples: a loose fit
    assert few["p99_ms"] > few["p50_ms"]
    samples = rng.lognormal(math.log(40.0), 0.4, 5_000)
    many = fit_service(samples.tolist())
    assert many["distribution"] == "empirical"
    table = many["quantiles_ms"]
    assert len(table) == 21
    assert table == sorted(table)
    true_q = {10: 40.0, 19: 40.0 * math.exp(0.4 * 1.6448536)}  # q50 and q95 of the truth
    for index, value in true_q.items():
        assert table[index] == pytest.approx(value, rel=0.04)
    OperationSpec.model_validate(many)  # what the scenario file takes
    OperationSpec.model_validate(few)
    with pytest.raises(ValueError, match="at least 5"):
        fit_service([1.0, 2.0, 3.0])


def test_the_model_samples_an_empirical_table_by_its_inverse_cdf() -> None:
    table = quantile_table([10.0, 20.0, 30.0, 40.0, 400.0], points=5)  # a long last step
    # Uniform within each quarter: the mean is the mean of the segments' midpoints.
    expected_s = np.mean([(a + b) / 2 for a, b in pairwise(table)]) / 1e3
    spec = mmc_spec(50, 2.0, 0.1, hours=2.0)
    op = {"distribution": "empirical", "quantiles_ms": table}
    spec = spec.model_validate(
        {**spec.model_dump(), "systems": {"erp": {"operations": {"create_order": op}}}}
    )
    flow = simulate(spec).flows["close_to_order"]
    assert flow["completed"] > 10_000
    assert flow["latency_mean_completed_s"] == pytest.approx(expected_s, rel=0.03)
    assert flow["latency_max_s"] <= 0.4 + 1e-9
    assert flow["latency_p50_s"] == pytest.approx(0.030, rel=0.03)  # the table's middle


def test_the_model_fails_calls_at_an_operations_error_rate() -> None:
    spec = mmc_spec(50, 2.0, 0.05, hours=1.0)
    op = {"distribution": "fixed", "mean_ms": 50, "error_rates": {"http_5xx": 0.15,
                                                                  "dropped": 0.05}}  # fmt: skip
    spec = spec.model_validate(
        {**spec.model_dump(), "systems": {"erp": {"operations": {"create_order": op}}}}
    )
    result = simulate(spec)
    flow = result.flows["close_to_order"]
    # Each call fails with p = 0.2: retries per delivered job ~ p / (1 - p) = 0.25.
    assert flow["retries"] / flow["completed"] == pytest.approx(0.25, rel=0.08)
    assert flow["dead_letters"] <= 5  # six attempts in a row fail with p = 0.2^6


def test_operation_specs_refuse_a_bad_table() -> None:
    with pytest.raises(ValidationError, match="must not decrease"):
        OperationSpec(distribution="empirical", quantiles_ms=[5.0, 4.0])
    with pytest.raises(ValidationError, match="quantiles_ms goes with"):
        OperationSpec(distribution="empirical")
    with pytest.raises(ValidationError, match="<= 1"):
        OperationSpec.model_validate({"error_rates": {"http_5xx": 0.7, "dropped": 0.5}})


def test_concurrency_sweeps_spans() -> None:
    spans = [(0.0, 2.0), (1.0, 3.0), (1.5, 1.8), (5.0, 6.0), (6.0, 7.0)]
    c = concurrency(spans)
    assert c.maximum == 3
    assert c.requests == 5
    # Busy 0-3 and 5-7: 1*1 + 2*0.5 + 3*0.3 + 2*0.2 + 1*1 over 3 s, then 1 for 2 s.
    assert c.busy_mean == pytest.approx((1 + 1 + 0.9 + 0.4 + 1 + 2) / 5)
    assert c.p50_at_start == 1  # an end and a start at 6.0: the end comes first
    assert c.sustained == 2  # 3 was reached by one request only
    assert concurrency([(0.0, 1.0)]).sustained == 1
    # Two requests each starting into three in flight: three is sustained.
    assert concurrency([*spans, (1.6, 1.7)]).sustained == 3
    assert concurrency([]).maximum == 0


def test_error_counts_classify_outcomes_and_keep_faults_apart() -> None:
    counts = ErrorCounts()
    for status, fault in ((200, None), (503, None), (429, None), (444, None), (503, "f1")):
        counts.add(status, fault)
    assert (counts.calls, counts.http_5xx, counts.http_429, counts.dropped) == (4, 1, 1, 1)
    assert counts.faulted == 1
    assert counts.rate("http_5xx") == 0.25


def test_operation_names_drop_ids() -> None:
    assert operation_name("POST", "/sales-orders") == "post_sales_orders"
    assert operation_name("GET", "/quotes/q_0a1b") == "get_quotes_item"
    assert operation_name("POST", "/entitlements/ent_7/suspend") == "post_entitlements_item_suspend"
