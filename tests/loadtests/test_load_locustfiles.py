from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LOADTESTS = Path(__file__).resolve().parents[2] / "loadtests"


@pytest.mark.load
def test_plain_locust_without_data_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GOLIVE_LOAD_DATA"}
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOADTESTS / "quarter_end.py"), "--headless",
         "--run-time", "1s", "--host", "http://127.0.0.1:9"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "set GOLIVE_LOAD_DATA to a folder written by `golive data generate`" in done.stderr


@pytest.mark.load
def test_each_locustfile_offers_the_five_users_and_its_shape(tmp_path):
    code = (
        "import sys; from locust.util.load_locustfile import load_locustfile as load\n"
        "users, shapes = load(sys.argv[1])\n"
        "print(sorted(users), [type(s).__name__ for s in shapes])"
    )
    expected_users = ["OrderDeskUser", "QuotePricingUser", "SalesRepUser", "SupportAgentUser",
                      "UsageMeterUser"]  # fmt: skip
    for name, shapes in (("locustfile.py", []), ("quarter_end.py", ["QuarterEndShape"]),
                         ("month_end.py", ["MonthEndShape"])):  # fmt: skip
        done = subprocess.run([sys.executable, "-c", code, str(LOADTESTS / name)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
        assert done.stdout.strip() == f"{expected_users} {shapes}", done.stderr
