from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.pacing import paced_between, pacing_from_env, think_scale_from_env


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _User:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)


def test_a_paced_user_starts_flows_at_a_fixed_interval_whatever_they_take():
    clock, user = _Clock(), _User()
    wait = paced_between(2.0, 2.0, clock)
    assert wait(user) == 2.0  # the first call knows no start: a whole interval
    clock.now += 2.0  # the next flow starts now...
    clock.now += 0.5  # ...and takes half a second
    assert wait(user) == pytest.approx(1.5)
    clock.now += 1.5 + 1.9  # a flow of 1.9 s
    assert wait(user) == pytest.approx(0.1)


def test_a_flow_longer_than_its_interval_starts_the_next_at_once_without_catching_up():
    clock, user = _Clock(), _User()
    wait = paced_between(1.0, 1.0, clock)
    wait(user)
    clock.now += 1.0 + 3.0  # the flow took three intervals
    assert wait(user) == 0.0
    clock.now += 0.25  # the next flow starts on time again: a full interval from its start
    assert wait(user) == pytest.approx(0.75)


def test_intervals_are_drawn_between_the_bounds_from_the_users_seeded_rng():
    clock = _Clock()
    wait = paced_between(0.5, 2.0, clock)
    first = [wait(_User(seed=7)) for _ in range(3)]
    again = [wait(_User(seed=7)) for _ in range(3)]
    assert first == again
    user = _User(seed=3)
    draws = []
    for _ in range(2000):
        draws.append(wait(user))
        clock.now += draws[-1]  # flows take no time: each wait is the whole interval
    assert all(0.5 <= d <= 2.0 for d in draws)
    assert sum(draws) / len(draws) == pytest.approx(1.25, abs=0.05)


def test_pacing_refuses_bounds_out_of_order():
    with pytest.raises(ValueError, match="low <= high"):
        paced_between(2.0, 1.0)


@pytest.mark.parametrize(("value", "on"), [("1", True), ("on", True), ("TRUE", True),
                                           ("", False), ("0", False), ("off", False)])  # fmt: skip
def test_pacing_switch_reads_the_environment(value, on):
    assert pacing_from_env({"GOLIVE_LOAD_PACING": value}) is on
    assert pacing_from_env({}) is False


def test_a_bad_pacing_switch_or_think_scale_is_refused_with_its_name():
    with pytest.raises(ValueError, match="GOLIVE_LOAD_PACING must be 1 or 0"):
        pacing_from_env({"GOLIVE_LOAD_PACING": "fast"})
    for bad in ("-1", "abc", "inf", "nan"):
        with pytest.raises(ValueError, match="GOLIVE_LOAD_THINK_SCALE must be a number >= 0"):
            think_scale_from_env({"GOLIVE_LOAD_THINK_SCALE": bad})
    assert think_scale_from_env({}) == 1.0
    assert think_scale_from_env({"GOLIVE_LOAD_THINK_SCALE": "0"}) == 0.0  # no think time
    assert think_scale_from_env({"GOLIVE_LOAD_THINK_SCALE": "0.25"}) == 0.25


@pytest.mark.load
def test_locust_refuses_a_bad_pacing_switch_in_one_line(tmp_path):
    locustfile = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
    env = {**os.environ, "GOLIVE_LOAD_PACING": "fast"}
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--run-time", "1s",
         "--host", "http://127.0.0.1:9"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "golive load: GOLIVE_LOAD_PACING must be 1 or 0 (on or off), not 'fast'" in done.stderr


@pytest.mark.load
def test_with_pacing_on_every_user_waits_from_its_flows_start(tmp_path):
    code = (
        "from loadtests import flows\n"
        "users = [flows.SalesRepUser, flows.QuotePricingUser, flows.OrderDeskUser,\n"
        "         flows.UsageMeterUser, flows.SupportAgentUser]\n"
        "print(flows.PACING, flows.THINK_SCALE,\n"
        "      sorted({u.wait_time.__qualname__.split('.')[0] for u in users}))\n"
    )
    for pacing, expected in (("1", "True 0.5 ['paced_between']"),
                             ("0", "False 0.5 ['between']")):  # fmt: skip
        env = {**os.environ, "GOLIVE_LOAD_PACING": pacing, "GOLIVE_LOAD_THINK_SCALE": "0.5"}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=60, cwd=tmp_path)  # fmt: skip
        assert done.stdout.strip() == expected, done.stderr
