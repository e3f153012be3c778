from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lifecycle.synth import SynthParams, generate
from simulators.estate import start_estate
from simulators.testing import free_base_port

GOLIVE = [sys.executable, "-m", "golive"]


def _golive(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*GOLIVE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shape", "black-friday"], "--shape must be one of quarter-end, month-end, steady"),
        (["--worker"], "--worker needs --master-host"),
        (["--processes", "2", "--master"], "exclude each other"),
        (["--expect-workers", "3"], "--expect-workers goes with --master"),
        (["--duration", "soon"], "--duration 'soon'"),
        (["--target", "prod"], "unknown target 'prod'"),
        (["--slo", "p59_ms=3"], "unknown load SLO 'p59_ms'"),
        (["--duration", "99999h"], "at most 24h"),
        (["--slo", "p95_ms=500, error_rate=0.02"], "repeat --slo"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(tmp_path, args, message):
    done = _golive(["load", *args], tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_target_off_loopback_is_refused_before_anything_is_sent(tmp_path):
    urls = "\n".join(f'{s} = "https://{s}.staging.example.invalid"'
                     for s in ("crm", "cpq", "billing", "support", "erp"))  # fmt: skip
    (tmp_path / "golive.toml").write_text(f"[targets.staging]\n{urls}\n")
    done = _golive(["load", "--target", "staging"], tmp_path)
    assert done.returncode == 2
    assert "not on loopback" in done.stderr
    assert "--i-own-this-target" in done.stderr
    assert not list(tmp_path.glob("golive-reports/*/locust*"))


def test_help_has_an_example(tmp_path):
    done = _golive(["load", "--help"], tmp_path)
    assert done.returncode == 0
    assert "Example: golive load" in done.stdout
    assert "--slo p95_ms=500 --slo error_rate=0.02" in done.stdout  # what is accepted
    assert "24h" in done.stdout


@pytest.fixture(scope="module")
def estate_dir(tmp_path_factory):
    """The five simulators as processes on free loopback ports, named by a golive.toml."""
    base = free_base_port(5)
    estate = start_estate(mode="processes", base_port=base)
    try:
        folder = tmp_path_factory.mktemp("load")
        today = datetime.now(UTC).date().isoformat()  # the simulators' clock runs in real time
        generate(SynthParams(accounts=60, seed=7, years=1, as_of=today), folder / "data")
        (folder / "golive.toml").write_text(
            f'[targets.sims]\nhost = "127.0.0.1"\nbase_port = {base}\n'
            "[load.slos]\np95_ms = 2000\nerror_rate = 0.0\n"
        )
        yield folder
    finally:
        estate.stop()


@pytest.mark.load
@pytest.mark.live
@pytest.mark.slow
def test_load_meeting_loose_slos_exits_0_with_reports(estate_dir):
    out = estate_dir / "loose"
    done = _golive(["load", "--target", "sims", "--shape", "steady", "--duration", "5s",
                    "--users", "6", "--data", "data", "--out", str(out)], estate_dir)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.index("traffic goes to") < done.stdout.index("seeded the simulators")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passed"] is True
    assert summary["total"]["requests"] > 20
    assert summary["total"]["failures"] == 0  # every flow follows the systems' rules
    assert {r["request"] for r in summary["requests"]} >= {
        "POST crm /oauth/token",
        "POST cpq /quotes",
    }
    assert (out / "locust.html").read_text().startswith("<!DOCTYPE html>")
    assert (out / "locust_stats.csv").exists()
    assert "<testsuite" in (out / "junit.xml").read_text()


@pytest.mark.load
@pytest.mark.live
@pytest.mark.slow
def test_load_missing_an_impossible_slo_exits_1(estate_dir):
    out = estate_dir / "strict"
    done = _golive(["load", "--target", "sims", "--shape", "quarter-end", "--duration", "5s",
                    "--users", "5", "--data", "data", "--out", str(out),
                    "--slo", "min_requests=1000000000"], estate_dir)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fewer than 1e+09" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passed"] is False
    assert summary["total"]["requests"] > 0
    missed = [c for c in summary["checks"] if not c["passed"]]
    assert [c["metric"] for c in missed] == ["requests"]
    junit = (out / "junit.xml").read_text()
    assert 'failures="1"' in junit


@pytest.mark.load
@pytest.mark.live
@pytest.mark.slow
def test_master_with_two_workers_sees_both_report(estate_dir):
    port = free_base_port(1)
    out = estate_dir / "master"
    common = ["--target", "sims", "--shape", "steady", "--data", str(estate_dir / "data")]
    master = subprocess.Popen(
        [*GOLIVE, "load", *common, "--master", "--expect-workers", "2", "--master-port", str(port),
         "--master-bind-host", "127.0.0.1", "--duration", "8s", "--users", "6", "--out", str(out)],
        cwd=estate_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Workers send stats every 3 s and the master waits only half a second for their last
    # report, so the run lasts long enough for periodic reports on a busy machine.
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(2):
            workers.append(subprocess.Popen(
                [*GOLIVE, "load", *common, "--worker", "--master-host", "127.0.0.1",
                 "--master-port", str(port), "--out", str(estate_dir / f"worker{n}")],
                cwd=estate_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        stdout, stderr = master.communicate(timeout=60)
        assert master.returncode == 0, stdout + stderr
        for worker in workers:
            worker.wait(timeout=20)
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["workers_seen"] == 2
    assert summary["total"]["requests"] > 0
    assert summary["mode"] == f"master on port {port}, 2 worker(s)"


@pytest.mark.parametrize(
    "args",
    [
        ["--base-port", "9641", "--duration", "5s"],  # the simulators are not running
        ["--base-port", "9641", "--data", "/nonexistent"],
        ["--base-port", "9641", "--data", "broken"],
    ],
)
def test_bad_usage_leaves_no_report_folder(tmp_path, args):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    done = _golive(["load", *args], tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert not list(tmp_path.glob("golive-reports/*")), "an empty report folder was left"


@pytest.mark.load
@pytest.mark.slow
def test_sigterm_stops_locust_and_still_writes_the_reports(tmp_path):
    import signal
    import time

    today = datetime.now(UTC).date().isoformat()
    generate(SynthParams(accounts=20, seed=7, years=1, as_of=today), tmp_path / "data")
    systems = ("crm", "cpq", "billing", "support", "erp")
    # nothing listens on these ports: every request fails, quickly
    urls = "\n".join(f'{s} = "http://127.0.0.1:{9660 + i}"' for i, s in enumerate(systems))
    (tmp_path / "golive.toml").write_text(f"[targets.dead]\n{urls}\nowned = true\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*GOLIVE, "load", "--target", "dead", "--shape", "steady", "--duration", "60s",
         "--users", "2", "--data", "data", "--out", str(out)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (out / "locust_stats.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode not in (0, 1, 2), stderr
    assert "interrupted by SIGTERM" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == "SIGTERM"
    assert summary["passed"] is False
    junit = (out / "junit.xml").read_text()
    assert "interrupted by SIGTERM" in junit
