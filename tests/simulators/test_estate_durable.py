"""An estate on a state directory: threads and processes carry on after a restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulators.estate import Estate, EstateError, running_estate, start_estate
from simulators.testing import free_base_port


def test_a_threads_estate_carries_on_after_a_restart_and_refuses_a_second(
    tmp_path: Path,
) -> None:
    with running_estate(["crm", "erp"], state_dir=tmp_path) as estate:
        with estate.client("crm") as crm:
            account = crm.post("/accounts", json={"name": "Acme"}).json()
        with pytest.raises(EstateError, match="in use by process"):
            start_estate(["crm"], state_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.sqlite3")) == ["crm.sqlite3", "erp.sqlite3"]
    with running_estate(["crm"], state_dir=tmp_path) as estate, estate.client("crm") as crm:
        assert crm.get(f"/accounts/{account['id']}").json() == account


def test_a_state_dir_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    file = tmp_path / "state"
    file.write_text("")
    with pytest.raises(EstateError, match="is not a folder"):
        start_estate(["crm"], state_dir=file)


@pytest.mark.live
def test_a_processes_estate_carries_on_after_a_restart(tmp_path: Path) -> None:
    base = free_base_port(1)

    def estate() -> Estate:
        return start_estate(["crm"], base_port=base, mode="processes", log_dir=tmp_path / "logs",
                            state_dir=tmp_path / "state")  # fmt: skip

    with estate() as first, first.client("crm") as crm:
        account = crm.post("/accounts", json={"name": "Acme"}).json()
    with estate() as second, second.client("crm") as crm:
        assert crm.get(f"/accounts/{account['id']}").json() == account


@pytest.mark.live
def test_golive_up_refuses_a_state_dir_that_is_a_file_in_one_line(tmp_path: Path) -> None:
    file = tmp_path / "state"
    file.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "golive", "up", "--only", "crm", "--state-dir", str(file)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"golive: state dir {file} is not a folder"]


_PLUGIN_TEST = """
def test_the_estate_keeps_its_state_on_disk(golive, golive_client):
    assert golive.apps["crm"].state.sim.rt.durable is not None
    assert golive_client("crm").post("/accounts", json={"name": "A"}).status_code == 201
"""


@pytest.mark.live
def test_the_pytest_plugin_takes_a_state_dir_option(tmp_path: Path) -> None:
    (tmp_path / "test_it.py").write_text(_PLUGIN_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\ngolive_systems = crm\n")
    state = tmp_path / "state"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         f"--golive-state-dir={state}", str(tmp_path / "test_it.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (state / "crm.sqlite3").exists()
