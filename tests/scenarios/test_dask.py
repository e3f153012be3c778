"""Replications on a Dask cluster give the same numbers as the process pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scenarios.catalog import load_scenario
from scenarios.runner import make_plan, run_plan


@pytest.fixture
def local_cluster() -> Iterator[str]:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                           dashboard_address=None)  # fmt: skip
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.mark.slow
def test_small_sweep_on_dask_matches_the_process_pool(local_cluster):
    spec = load_scenario("duplicate-storm", ["duration_hours=6", "drain_hours=1"])
    plan = make_plan(spec, 2, "middleware.workers=2,4")
    on_dask = run_plan(plan, dask_scheduler=local_cluster)
    in_pool = run_plan(plan, workers=2)
    assert [r.to_dict() for r in on_dask] == [r.to_dict() for r in in_pool]
    assert len(on_dask) == 4
