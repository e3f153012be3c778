"""The verdict ``golive load`` prints and writes, from a summary (no Locust, no servers)."""

from __future__ import annotations

from golive.cli.load import _render, _write
from golive.loadslo import LoadSlos, evaluate


def _entry(method, name, times):
    return {"method": method, "name": name, "requests": len(times), "failures": 0,
            "total_response_time_ms": sum(times), "max_response_time_ms": max(times),
            "response_times": {str(t): 1 for t in times}}  # fmt: skip


def _summary(slos: LoadSlos) -> dict:
    result = {"entries": [_entry("GET", "billing /subscriptions/[id]", [5, 6, 7])]}
    return {"target": "local", "shape": "steady", **evaluate(result, slos)}


def test_results_are_styled_not_raw_markup_and_names_print_literally(tmp_path, capsys):
    _render(_summary(LoadSlos(p95_ms=1, p95_ms_by_request={"NOPE x": 5})), tmp_path)
    out = capsys.readouterr().out
    assert "GET billing /subscriptions/[id]" in out
    assert "\\[id]" not in out
    for markup in ("[red]", "[green]", "[/]"):
        assert markup not in out
    assert "MISSED" in out
    assert "matched no request" in out


def test_a_passing_check_shows_pass_without_markup(tmp_path, capsys):
    _render(_summary(LoadSlos(p95_ms=1000)), tmp_path)
    out = capsys.readouterr().out
    assert "pass" in out
    assert "[green]" not in out


def test_an_slo_naming_no_request_fails_in_junit(tmp_path):
    _write(tmp_path, _summary(LoadSlos(p95_ms_by_request={"NOPE x": 5})))
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="p95 NOPE x"' in junit
    assert "matched no request" in junit
    assert 'failures="1"' in junit
