"""``python -m examples.reference_middleware`` as a process, and ``golive sut``'s bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.run import new_webhook_secret, sut_env
from golive.cli import main
from simulators.estate import Estate


@pytest.fixture
def process(golive: Estate, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, **sut_env(golive.urls, new_webhook_secret())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.reference_middleware", "--port", "0",
         "--state-dir", str(tmp_path / "state")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_reference_middleware_runs_as_a_process_and_reports_its_status(
    process: subprocess.Popen[str],
) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("reference middleware listening on http://127.0.0.1:")
    url = line.split()[-1]
    assert httpx.get(f"{url}/health", timeout=5).json() == {"status": "ok"}
    status = httpx.get(f"{url}/status", timeout=5).json()
    assert (status["queue_depth"], status["parked"], status["dlq"]) == (0, 0, 0)
    assert set(status["breakers"].values()) == {"closed"}


def test_without_the_sut_variables_it_says_which_one_and_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    done = subprocess.run([sys.executable, "-m", "examples.reference_middleware"],
                          env=env, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: GOLIVE_CRM_URL must be the http(s) base URL of crm, got ''"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sut", "reference", "--target", "nowhere"], "unknown target 'nowhere'"),
        (["sut", "naive", "--port", "70000"], "--port"),
        (["sut", "dlq", "list", "--state-dir", "/nonexistent"], "no dead-letter store"),
    ],
)
def test_golive_sut_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert message in err[0]
