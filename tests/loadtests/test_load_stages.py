from __future__ import annotations

import pytest

from loadtests.stages import month_end_stages, quarter_end_stages, stage_at, total_duration_s


def test_quarter_end_runs_baseline_ramp_ten_times_peak_and_drain():
    stages = quarter_end_stages(peak_users=100, duration_s=200)
    assert [s.name for s in stages] == ["baseline", "ramp", "peak", "drain"]
    assert [s.users for s in stages] == [10, 100, 100, 10]
    assert total_duration_s(stages) == 200
    assert stage_at(stages, 0).name == "baseline"
    assert stage_at(stages, 45).name == "ramp"
    assert stage_at(stages, 100).name == "peak"
    assert stage_at(stages, 199).users == 10
    assert stage_at(stages, 200) is None


def test_ramp_climbs_linearly_over_its_stage():
    stages = quarter_end_stages(peak_users=100, duration_s=200)
    ramp = stages[1]
    assert ramp.spawn_rate == pytest.approx((100 - 10) / 40)


def test_month_end_peaks_at_three_times_its_baseline():
    stages = month_end_stages(peak_users=30, duration_s=60)
    assert [s.users for s in stages] == [10, 30, 30, 10]
    assert stage_at(stages, 59.9).name == "drain"


def test_a_single_user_shape_keeps_one_user_throughout():
    assert {s.users for s in quarter_end_stages(peak_users=1, duration_s=10)} == {1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"peak_users": 0, "duration_s": 10}, "peak users"),
        ({"peak_users": 10, "duration_s": 0}, "duration"),
        ({"peak_users": 10, "duration_s": 10, "multiplier": 0.5}, "multiplier"),
        ({"peak_users": 10, "duration_s": 10, "fractions": (0.5, 0.5, 0.5, 0.5)}, "add up"),
    ],
)
def test_bad_shape_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        quarter_end_stages(**kwargs)
