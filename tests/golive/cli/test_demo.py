"""``golive demo`` end to end: the reference middleware reconciles under the ERP outage
and duplicate webhooks, and the report files are written (README, "golive demo")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golive.cli import exit_status


def _golive(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = exit_status(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_demo_with_the_reference_middleware_reconciles_and_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    code, output = _golive(["demo", "--deals", "8", "--seed", "3", "--out", str(out)], capsys)
    assert code == 0, output
    assert "PASS: every invariant holds" in output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["ok"] is True
    assert summary["deals"] == 8
    assert summary["objects"]["sales_order"] == 8  # one order per deal despite duplicates
    assert summary["objects"]["ar_invoice"] >= 8  # the month end billed every deal
    fired = {f["kind"]: f["fired"] for f in summary["faults"]}
    assert fired["outage"] > 0
    assert fired["duplicate"] > 0
    assert summary["middleware"]["dlq"] == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "PASS" in html
    assert "order_per_deal" in html
    assert "<testsuite" in (out / "junit.xml").read_text(encoding="utf-8")
    # raw/: the run's journals, so the demo calibrates a simulation (docs/calibration.md)
    journal = json.loads((out / "raw" / "erp.journal.json").read_text(encoding="utf-8"))
    orders = [e for e in journal["data"] if (e["method"], e["path"]) == ("POST", "/sales-orders")]
    assert len([e for e in orders if e["status"] == 201]) == 8
    assert all(e["wall_at"] > 0 and e["duration_ms"] > 0 for e in orders)


def test_the_demo_with_the_naive_middleware_fails_naming_its_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One deal is enough: with seed 7 its closed_won delivery is duplicated, and the naive
    middleware (no dedupe) makes a second order; its organization then exists, so the copy
    fails and every retry of it makes one more (docs/middlewares.md)."""
    out = tmp_path / "naive"
    argv = ["demo", "--sut", "naive", "--deals", "1", "--seed", "7", "--out", str(out)]
    code, output = _golive(argv, capsys)
    assert code == 1, output
    assert "FAIL: " in output
    assert "order_per_deal" in output.rsplit("FAIL: ", 1)[1]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["ok"] is False
    results = {r["name"]: r for r in summary["verdict"]["invariants"]}
    (dup,) = [v for v in results["order_per_deal"]["violations"]
              if "ERP sales orders" in v["message"]]  # fmt: skip
    assert summary["objects"]["sales_order"] > 1  # one deal, several orders
    assert dup["ids"][0].startswith("opp_")  # the opportunity, then its orders
    assert dup["correlation_id"] == dup["ids"][0]
    assert len(dup["ids"]) == summary["objects"]["sales_order"] + 1
    assert summary["drain"]["outcome"] == "settled"  # nothing left hanging: failed fast
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "FAIL" in html
    assert "order_per_deal" in html
    assert "<failure" in (out / "junit.xml").read_text(encoding="utf-8")


def test_an_unknown_middleware_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = _golive(["demo", "--sut", "clever", "--out", str(tmp_path)], capsys)
    assert code == 2
    assert "--sut 'clever'" in output
