"""scenarios.rawdump against a running estate: files per system and kind, read back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scenarios.rawdump import FORMAT, RawProblem, dump_raw, load_raw
from simulators.estate import Estate, running_estate


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    with running_estate(seed=3, systems=["crm", "erp"]) as running:
        yield running


def test_dump_writes_one_file_per_system_and_kind(estate: Estate, tmp_path: Path) -> None:
    before = time.time()
    with estate.client("crm") as crm:
        corr = {"X-Correlation-Id": "c-1"}
        created = crm.post("/accounts", json={"name": "Raw Co"}, headers=corr)
        assert created.status_code == 201, created.text
        assert crm.get("/accounts/acc_nope").status_code == 404
    with httpx.Client(headers=estate.admin_headers, timeout=30) as admin:
        dump = dump_raw(estate.urls, tmp_path, client=admin, notes={"scenario": "t"})
    raw = tmp_path / "raw"
    names = sorted(p.name for p in raw.iterdir())
    assert names == sorted(["manifest.json"] + [f"{s}.{k}.json" for s in ("crm", "erp")
                            for k in ("journal", "deliveries", "events", "export")])  # fmt: skip
    manifest = json.loads((raw / "manifest.json").read_text())
    assert manifest["format"] == FORMAT
    assert manifest["notes"] == {"scenario": "t"}
    journal = json.loads((raw / "crm.journal.json").read_text())
    business = [e for e in journal["data"] if e["path"].startswith("/accounts")]
    assert [(e["method"], e["status"]) for e in business] == [("POST", 201), ("GET", 404)]
    post = business[0]
    assert post["correlation_id"] == "c-1"
    assert post["duration_ms"] > 0
    # The wall clock of each request: after the test began, in the order they came.
    assert before <= post["wall_at"] <= business[1]["wall_at"] <= time.time()
    events = json.loads((raw / "crm.events.json").read_text())
    assert events["complete"]
    assert any(e["type"].startswith("account.") for e in events["data"])
    export = json.loads((raw / "crm.export.json").read_text())
    assert export["counts"]["account"] == 1
    assert manifest["systems"]["crm"]["counts"]["journal"] == len(journal["data"])
    back = load_raw(tmp_path)
    assert back.systems == ["crm", "erp"] == dump.systems
    assert back.rows("journal", "crm") == journal["data"]
    assert back.rows("deliveries", "billing") == []


def test_load_refuses_missing_or_foreign_folders(tmp_path: Path) -> None:
    with pytest.raises(RawProblem, match="no such report folder"):
        load_raw(tmp_path / "absent")
    with pytest.raises(RawProblem, match=r"no raw/manifest\.json"):
        load_raw(tmp_path)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(RawProblem, match=r"not a golive-raw/1 manifest"):
        load_raw(tmp_path)


def test_dump_names_an_estate_that_is_not_running(tmp_path: Path) -> None:
    with httpx.Client(timeout=2) as client, pytest.raises(RawProblem, match="cannot reach the crm"):
        dump_raw({"crm": "http://127.0.0.1:9"}, tmp_path, client=client)
