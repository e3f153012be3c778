"""``golive data``: bad output folders, targets and base ports, and the simulators' clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from golive.cli import exit_status as _run
from golive.dataload import iter_objects
from lifecycle.synth import SynthParams, generate
from simulators.testing import free_base_port


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = _run(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "internal error" not in err
    return err


@pytest.mark.parametrize("where", ["file", "under-a-file", "proc"])
def test_generate_into_a_place_it_cannot_write_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    out = {"file": a_file, "under-a-file": a_file / "sub", "proc": Path("/proc/nope")}[where]
    err = _one_line_exit_2(capsys, ["data", "generate", "--accounts", "2", "--out", str(out)])
    assert str(out) in err


def test_stats_shows_won_deals_by_weekday(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    generate(SynthParams(accounts=40, seed=5), tmp_path)
    assert _run(["data", "stats", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Won deals by weekday" in out
    assert "1 Mon" in out
    assert "5 Fri" in out


@pytest.fixture(scope="module")
def estate() -> Iterator[Any]:
    """The five simulators on consecutive free ports (as ``golive up --base-port`` lays them)."""
    from simulators.estate import running_estate

    with running_estate(base_port=free_base_port()) as running:
        yield running


@pytest.fixture
def fresh(estate: Any) -> Any:
    estate.reset()
    return estate


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(SynthParams(accounts=6, seed=3, as_of="2026-11-01"), out)
    return out


def _base_port(estate: Any) -> int:
    return int(httpx.URL(estate.urls["crm"]).port or 0)


def _accounts(estate: Any) -> int:
    objects = httpx.get(f"{estate.urls['crm']}/_sim/export").json()["objects"]
    return len(objects.get("account", []))


def test_load_follows_the_base_port(
    fresh: Any, folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["data", "load", str(folder), "--base-port", str(_base_port(fresh)), "--clock", "keep"]
    assert _run(argv) == 0
    assert _accounts(fresh) == 6


def test_load_follows_a_named_target(
    fresh: Any, folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "golive.toml").write_text(
        f'[targets.mine]\nhost = "127.0.0.1"\nbase_port = {_base_port(fresh)}\n'
    )
    assert _run(["data", "load", str(folder), "--target", "mine", "--clock", "keep"]) == 0
    assert _accounts(fresh) == 6


def test_load_into_an_unknown_target_is_one_line_and_exit_2(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    err = _one_line_exit_2(capsys, ["data", "load", str(folder), "--target", "nope"])
    assert "unknown target 'nope'" in err


def test_load_when_nothing_listens_is_one_line_and_exit_2(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    _one_line_exit_2(capsys, ["data", "load", str(folder), "--base-port", str(free_base_port())])


def _clock(estate: Any) -> list[str]:
    return [httpx.get(f"{url}/_sim/clock").json()["now"] for url in estate.urls.values()]


def test_data_from_the_clock_s_future_moves_every_clock_forward_to_as_of(
    fresh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "future"
    generate(SynthParams(accounts=4, seed=2, as_of="2031-06-01"), data)
    assert _run(["data", "load", str(data), "--base-port", str(_base_port(fresh))]) == 0
    assert all(now >= "2031-06-01T00:00:00" for now in _clock(fresh))
    assert all(now < "2031-06-02" for now in _clock(fresh))
    assert "2031-06-01" in capsys.readouterr().out


def test_keep_leaves_the_clock_alone(
    fresh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "future"
    generate(SynthParams(accounts=2, seed=2, as_of="2031-06-01"), data)
    argv = ["data", "load", str(data), "--base-port", str(_base_port(fresh)), "--clock", "keep"]
    assert _run(argv) == 0
    assert all(now < "2031" for now in _clock(fresh))


def _breached_in(estate: Any) -> set[str]:
    """Cases the support simulator calls breached once its SLA timers ran.

    Reads never write, so the timers run on a clock move (here one of 0 seconds).
    """
    with estate.client("support") as client:
        client.post("/_sim/clock/advance", json={"seconds": 0}).raise_for_status()
        page = client.get("/cases", params={"limit": 1000, "sla_breached": "true"}).json()
    assert page["next_cursor"] is None
    return {c["id"] for c in page["data"]}


def test_data_from_the_clock_s_past_loads_with_a_warning_that_counts_the_breaches(
    fresh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "past"
    generate(SynthParams(accounts=60, seed=4, as_of="2026-11-01"), data)
    breached_in_data = {c["id"] for c in iter_objects(data, "case") if c["sla_breached"]}
    assert _run(["data", "load", str(data), "--base-port", str(_base_port(fresh))]) == 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "2026-11-01" in err
    assert "--as-of" in err
    newly = _breached_in(fresh) - breached_in_data
    assert f"{len(newly)} case(s)" in err
    assert newly  # the example is only worth something if the clock does breach cases


def test_strict_refuses_data_from_the_past_before_loading_anything(
    fresh: Any, folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["data", "load", str(folder), "--base-port", str(_base_port(fresh)), "--clock", "strict"]
    err = _one_line_exit_2(capsys, argv)
    assert "nothing loaded" in err
    assert _accounts(fresh) == 0


def test_a_target_that_is_not_owned_keeps_its_clock(
    fresh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    urls = "\n".join(f'{s} = "{u}"' for s, u in fresh.urls.items())
    (tmp_path / "golive.toml").write_text(f"[targets.shared]\n{urls}\nowned = false\n")
    data = tmp_path / "future"
    generate(SynthParams(accounts=2, seed=2, as_of="2031-06-01"), data)
    assert _run(["data", "load", str(data), "--target", "shared"]) == 0
    assert all(now < "2031" for now in _clock(fresh))
    assert "not owned" in capsys.readouterr().err


def _damage(folder: Path, how: str) -> str:
    """Damage one file of a generated folder; returns the file's name."""
    if how == "missing":
        (folder / "account.ndjson").unlink()
        return "account.ndjson"
    tail = {"bytes": b"\xff\xfe\x00", "json": b'{"bad json\n'}[how]
    with (folder / "contact.ndjson").open("ab") as fh:
        fh.write(tail)
    return "contact.ndjson"


@pytest.mark.parametrize("how", ["missing", "bytes", "json"])
@pytest.mark.parametrize("command", ["stats", "load"])
def test_a_damaged_folder_is_refused_whole_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, command: str
) -> None:
    generate(SynthParams(accounts=3, seed=1), tmp_path)
    name = _damage(tmp_path, how)
    # No simulator listens on this port: a load that sent anything would fail to connect.
    extra = ["--base-port", str(free_base_port())] if command == "load" else []
    err = _one_line_exit_2(capsys, ["data", command, str(tmp_path), *extra])
    assert name in err
    assert "cannot reach" not in err


@pytest.mark.parametrize("how", ["bytes", "json"])
def test_a_line_that_does_not_parse_is_named_even_when_the_hash_was_updated(
    tmp_path: Path, how: str
) -> None:
    import hashlib
    import json

    from lifecycle.synth.folder import FolderProblem, check_folder

    generate(SynthParams(accounts=3, seed=1), tmp_path)
    name = _damage(tmp_path, how)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["files"][name]["sha256"] = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FolderProblem, match=name):
        check_folder(tmp_path)


def test_load_data_for_the_load_users_refuses_a_damaged_folder(tmp_path: Path) -> None:
    from loadtests.data import DataProblem, load_data

    generate(SynthParams(accounts=3, seed=1), tmp_path)
    _damage(tmp_path, "bytes")
    with pytest.raises(DataProblem, match=r"contact\.ndjson"):
        load_data(tmp_path)


def test_generate_again_without_events_removes_the_old_events_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    assert _run(["data", "generate", "--accounts", "2", "--out", str(out), "--events"]) == 0
    (out / "notes.txt").write_text("mine")
    assert _run(["data", "generate", "--accounts", "2", "--out", str(out)]) == 0
    assert not (out / "events.ndjson").exists()
    assert (out / "notes.txt").read_text() == "mine"  # not golive's: left alone
    assert _run(["data", "generate", "--accounts", "2", "--out", str(out), "--format", "csv"]) == 0
    assert not list(out.glob("*.ndjson"))
    capsys.readouterr()
    assert _run(["data", "stats", str(out)]) == 0


def test_generate_into_a_folder_golive_did_not_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "report.pdf").write_text("x")
    err = _one_line_exit_2(capsys, ["data", "generate", "--accounts", "2", "--out", str(tmp_path)])
    assert "not empty" in err
    assert (tmp_path / "report.pdf").exists()
    assert not (tmp_path / "manifest.json").exists()
