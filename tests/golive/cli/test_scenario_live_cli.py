"""``golive scenario run --mode live``: bad input is one line and exit 2, before any
estate starts; a team's middleware starts from ``[sut] command`` and stops after."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from golive.cli import exit_status
from golive.errors import UsageProblem
from golive.live.sut import parse_command, start_live_sut


def _golive(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = exit_status(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no-such-scenario"], "unknown scenario 'no-such-scenario'"),
        (["erp-outage", "--speed", "0"], "--speed must be above 0"),
        (["erp-outage", "--speed", "-3"], "--speed must be above 0"),
        (["erp-outage", "--scale", "2"], "--scale must be above 0 and at most 1"),
        (["erp-outage", "--max-deals", "0"], "--max-deals must be at least 1"),
        (["erp-outage", "--sut", "ftp://x"], "--sut must be reference, naive or an http(s) URL"),
        (["erp-outage", "--sweep", "middleware.workers=1,2"], "--sweep and --dask-scheduler"),
    ],
)
def test_bad_live_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, output = _golive(
        ["scenario", "run", *argv, "--mode", "live", "--out", str(tmp_path / "r")], capsys
    )
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1


def test_an_unreachable_sut_url_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    code, output = _golive(
        [
            "scenario",
            "run",
            "erp-outage",
            "--mode",
            "live",
            "--sut",
            url,
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 2, output
    assert output.strip() == (
        f"golive: nothing answers at the SUT URL {url}; start it first, or give "
        "[sut] command in golive.toml"
    )


def test_the_mode_must_be_sim_or_live(capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _golive(["scenario", "run", "erp-outage", "--mode", "real"], capsys)
    assert code == 2
    assert "--mode must be sim or live" in output


def test_a_sut_command_is_started_with_the_contract_variables_and_stopped(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    urls = {
        s: f"http://127.0.0.1:{_free_port()}" for s in ("crm", "cpq", "billing", "support", "erp")
    }
    command = [
        sys.executable,
        "-m",
        "examples.reference_middleware",
        "--state-dir",
        str(tmp_path / "state"),
    ]
    sut = start_live_sut("config", urls, config_url=url, config_command=command)
    try:
        assert sut.kind == "command"
        assert sut.secret.startswith("whsec_")
        status = sut.status()  # it listens on the port of [sut] url (GOLIVE_SUT_PORT)
        assert status is not None
        assert "queue_depth" in status
    finally:
        sut.stop()
    assert sut.status() is None  # stopped with the run


def test_a_sut_command_that_exits_at_once_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    command = [sys.executable, "-c", "import sys; print('no config here'); sys.exit(3)"]
    with pytest.raises(UsageProblem, match=r"exited with 3 before .* answered: no config here"):
        start_live_sut("config", {}, config_url=url, config_command=command)


def test_a_sut_command_is_a_shell_line_or_an_argv() -> None:
    assert parse_command("python -m my_middleware --port 9000") == [
        "python",
        "-m",
        "my_middleware",
        "--port",
        "9000",
    ]
    assert parse_command(["./run", "a b"]) == ["./run", "a b"]
    with pytest.raises(UsageProblem, match="empty"):
        parse_command("  ")


def test_through_renewal_reaches_the_live_runner(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The flag is passed on (the run itself: tests/golive/live/test_live_runs.py)."""
    import golive.live.runner as runner

    monkeypatch.chdir(tmp_path)  # the default report folder

    seen: list[runner.LiveOptions] = []

    def stop(spec: object, options: runner.LiveOptions, *_: object) -> None:
        seen.append(options)
        raise UsageProblem("stopped before the estate starts")

    monkeypatch.setattr(runner, "run_live", stop)
    for flag, expected in ((["--through-renewal"], True), ([], False)):
        code, output = _golive(["scenario", "run", "erp-outage", "--mode", "live", *flag], capsys)
        assert code == 2
        assert "stopped before the estate starts" in output
        assert seen.pop().through_renewal is expected
