from __future__ import annotations

from pathlib import Path

import pytest

from golive.errors import UsageProblem
from golive.loadrun import LoadPlan, check_ownership, locust_command, locust_env, parse_duration
from simulators.loopback import is_loopback_url

URLS = {s: f"http://127.0.0.1:{8101 + i}" for i, s in enumerate(["crm", "cpq", "billing",
                                                                   "support", "erp"])}  # fmt: skip


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("2m", 120),
                                                ("1h30m", 5400), ("1.5m", 90), ("1h30s", 3630),
                                                ("24h", 86400)])  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "2 minutes", "0", "m", "5x", "99999h", "24h1s", "0.5s", "30s2m", "1m1m"]
)
def test_bad_durations_are_one_line(text):
    with pytest.raises(UsageProblem, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [("http://127.0.0.1:8101", True), ("http://localhost:1", True), ("http://[::1]:80", True),
     ("http://127.9.9.9", True), ("https://crm.staging.example.com", False),
     ("http://10.0.0.5:8101", False), ("http://localhost.example.com", False)],
)  # fmt: skip
def test_loopback(url, loopback):
    assert is_loopback_url(url) is loopback


def test_a_target_off_loopback_needs_ownership():
    staging = {**URLS, "erp": "https://erp.staging.example.com"}
    with pytest.raises(UsageProblem, match="owned = true"):
        check_ownership("staging", staging, owned=False)
    check_ownership("staging", staging, owned=True)
    check_ownership("local", URLS, owned=False)


def _plan(**kw) -> LoadPlan:
    return LoadPlan(target="local", urls=URLS, shape="quarter-end", duration_s=30, users=40,
                    out=Path("/tmp/r"), **kw)  # fmt: skip


def test_locust_runs_headless_with_reports_in_the_folder():
    cmd = locust_command(_plan())
    assert cmd[1:3] == ["-m", "locust"]
    assert cmd[cmd.index("-f") + 1].endswith("loadtests/quarter_end.py")
    assert {"--headless", "--only-summary"} <= set(cmd)
    assert cmd[cmd.index("--host") + 1] == URLS["crm"]
    assert cmd[cmd.index("--run-time") + 1] == "30s"
    assert cmd[cmd.index("--csv") + 1] == "/tmp/r/locust"
    assert cmd[cmd.index("--html") + 1] == "/tmp/r/locust.html"


def test_a_paced_run_tells_the_users_to_pace(monkeypatch):
    monkeypatch.delenv("GOLIVE_LOAD_PACING", raising=False)
    assert locust_env(_plan(paced=True))["GOLIVE_LOAD_PACING"] == "1"
    assert "GOLIVE_LOAD_PACING" not in locust_env(_plan())


def test_locust_distributed_modes():
    assert cmd_has(locust_command(_plan(processes=3)), "--processes", "3")
    master = locust_command(_plan(master=True, expect_workers=4, master_port=9747))
    assert cmd_has(master, "--expect-workers", "4")
    assert cmd_has(master, "--master-bind-port", "9747")
    worker = locust_command(_plan(worker=True, master_host="10.0.0.9", master_port=9747))
    assert cmd_has(worker, "--master-host", "10.0.0.9")
    assert "--html" not in worker
    assert "--users" not in worker


def cmd_has(cmd: list[str], option: str, value: str) -> bool:
    return option in cmd and cmd[cmd.index(option) + 1] == value


def test_load_with_a_damaged_data_folder_is_refused_before_locust_starts(tmp_path):
    import pytest

    from golive.errors import UsageProblem
    from golive.loadrun import prepare_data
    from lifecycle.synth import SynthParams, generate

    generate(SynthParams(accounts=2, seed=1), tmp_path)
    with (tmp_path / "account.ndjson").open("a") as fh:
        fh.write('{"bad json\n')
    with pytest.raises(UsageProblem, match=r"account\.ndjson"):
        prepare_data(tmp_path / "out", tmp_path, True, {}, 2, 0, lambda _s: None)
