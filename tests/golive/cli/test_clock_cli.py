"""``golive clock``: show, freeze, resume and the settled advance from the command line."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from golive.cli import exit_status as _run
from simulators.estate import Estate, running_estate


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    with running_estate() as running:
        yield running


@pytest.fixture
def config(estate: Estate, tmp_path: Path) -> list[str]:
    estate.reset()
    lines = "\n".join(f'{system} = "{url}"' for system, url in estate.urls.items())
    (tmp_path / "golive.toml").write_text(
        f"[targets.sims]\n{lines}\n[targets.shared]\n{lines}\nowned = false\n"
    )
    return ["--target", "sims", "--config", str(tmp_path / "golive.toml")]


def _clocks(estate: Estate) -> set[tuple[str, bool]]:
    return {(httpx.get(f"{u}/_sim/clock").json()["now"], httpx.get(f"{u}/_sim/clock").json()[
        "frozen"]) for u in estate.urls.values()}  # fmt: skip


def test_freeze_advance_show_and_resume(estate, config, capsys):
    assert _run(["clock", "freeze", "--at", "2031-01-01T00:00:00Z", *config]) == 0
    assert _clocks(estate) == {("2031-01-01T00:00:00.000000Z", True)}
    assert _run(["clock", "advance", "--by", "1d12h", "--step", "6h", *config]) == 0
    out = capsys.readouterr().out
    assert "2031-01-01T00:00:00.000000Z -> 2031-01-02T12:00:00.000000Z" in out
    assert _clocks(estate) == {("2031-01-02T12:00:00.000000Z", True)}
    assert _run(["clock", "advance", "--to", "2031-02-10T00:00:00Z", *config]) == 0
    assert "period_close" in capsys.readouterr().out  # the jobs that ran, by system
    assert _run(["clock", "show", *config]) == 0
    shown = capsys.readouterr().out
    assert all(system in shown for system in estate.urls)
    assert "2031-02-10" in shown
    assert _run(["clock", "resume", *config]) == 0
    assert {frozen for _, frozen in _clocks(estate)} == {False}


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["clock", "advance", "--by", "3x"], "--by '3x'"),
        (["clock", "advance", "--by", "0s"], "more than 0"),
        (["clock", "advance"], "exactly one of --by"),
        (["clock", "advance", "--by", "1d", "--to", "2031-01-01T00:00:00Z"], "exactly one"),
        (["clock", "advance", "--to", "2000-01-01T00:00:00Z"], "in the past"),
        (["clock", "advance", "--to", "soon"], "not an ISO 8601 instant"),
        (["clock", "advance", "--by", "1d", "--step", "1fortnight"], "--step"),
        (["clock", "freeze", "--at", "2000-01-01T00:00:00Z"], "only moves forward"),
        (["clock", "show", "--target", "nowhere"], "unknown target"),
        (["clock", "advance", "--by", "1d", "--target", "shared"], "not owned"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(estate, config, capsys, argv, words):
    code = _run([*argv, *(config if "--target" not in argv else config[2:])])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert words in err, err


def test_a_step_that_does_not_settle_exits_1_and_names_it(estate, config, capsys):
    assert _run(["clock", "freeze", "--at", "2031-05-01T00:00:00Z", *config]) == 0

    begun = threading.Event()

    def busy() -> None:
        with estate.client("cpq") as cpq:
            end = time.monotonic() + 2
            while time.monotonic() < end:
                cpq.get("/products")
                begun.set()

    sut = threading.Thread(target=busy, daemon=True)
    sut.start()
    assert begun.wait(10)
    code = _run(["clock", "advance", "--by", "2h", "--quiet", "300ms",
                 "--settle-limit", "400ms", *config])  # fmt: skip
    sut.join()
    err = capsys.readouterr().err
    assert code == 1, err
    assert "the step to 2031-05-01T" in err
    assert "cpq:" in err


def test_help_shows_an_example(capsys: Any) -> None:
    assert _run(["clock", "advance", "--help"]) == 0
    assert "golive clock advance --by 30d" in capsys.readouterr().out
