"""``golive reconcile`` end to end: generated data seeded into a threads-mode estate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from golive.dataload import align_clock, load_folder
from lifecycle.synth import SynthParams, generate
from simulators.estate import Estate, start_estate
from simulators.testing import free_base_port

pytestmark = pytest.mark.slow

GOLIVE = [sys.executable, "-m", "golive"]


def _golive(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run([*GOLIVE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)  # fmt: skip


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Estate, int]]:
    """An estate holding a generated data set, its clock at the data's as_of (tomorrow, so
    the clock moves forward to it and nothing in flight at as_of looks late)."""
    folder = tmp_path_factory.mktemp("data")
    as_of = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    generate(SynthParams(accounts=16, seed=4, years=1, as_of=as_of), folder)
    base_port = free_base_port()
    estate = start_estate(base_port=base_port)
    try:
        align_clock(folder, estate.urls, "follow", owned=True)
        load_folder(folder, estate.urls)
        yield estate, base_port
    finally:
        estate.stop()


def test_clean_then_one_broken_entitlement_is_named(seeded, tmp_path):
    estate, base_port = seeded
    out = tmp_path / "verdict"
    done = _golive(["reconcile", "--base-port", str(base_port), "--out", str(out),
                    "--json", str(tmp_path / "v.json")], tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every invariant holds" in done.stdout
    clean = json.loads((tmp_path / "v.json").read_text())
    assert clean["ok"] is True
    assert {i["name"]: i["checked"] > 0 for i in clean["invariants"]}["order_per_deal"]
    assert (out / "report.html").read_text().count("PASS") == 1

    billing, support = estate.client("billing"), estate.client("support")
    with billing, support:
        subs = billing.get("/subscriptions", params={"limit": 100}).json()["data"]
        sub = next(s for s in subs if s["status"] == "active")
        ents = support.get("/entitlements", params={"limit": 100}).json()["data"]
        ent = next(e for e in ents if e["subscription_id"] == sub["id"])
        assert support.post(f"/entitlements/{ent['id']}/suspend").status_code == 200

    junit = tmp_path / "v.xml"
    done = _golive(["reconcile", "--base-port", str(base_port), "--junit", str(junit)], tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert ent["id"] in done.stdout
    assert done.stderr.strip() == "golive: 1 violation: entitlement_per_deal"
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert len(cases) == 11
    failed = [n for n, c in cases.items() if c.find("failure") is not None]
    assert failed == ["entitlement_per_deal"]
    text = cases["entitlement_per_deal"].find("failure").text or ""
    assert ent["id"] in text
    assert "entitlement.suspended" in text


def test_nothing_running_is_one_line_and_exit_2(tmp_path):
    done = _golive(["reconcile", "--base-port", str(free_base_port())], tmp_path)
    assert done.returncode == 2
    assert "cannot reach the crm simulator" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_slos_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "golive.toml").write_text('[slos]\nclose_to_order_s = "soon"\n')
    done = _golive(["reconcile"], tmp_path)
    assert done.returncode == 2
    assert "close_to_order_s must be a positive number" in done.stderr


def test_help_has_an_example(tmp_path):
    done = _golive(["reconcile", "--help"], tmp_path)
    assert done.returncode == 0
    assert "Example: golive up --base-port 9500" in done.stdout
