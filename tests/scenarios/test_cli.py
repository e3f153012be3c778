"""``golive scenario`` end to end: exit codes, one-line errors, the report folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from golive.cli import exit_status

SMALL = ["--set", "arrivals.baseline_deals_per_hour=15"]


def _golive(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = exit_status(args)
    out, err = capsys.readouterr()
    return code, out, err


def _numbers(folder) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    summary.pop("meta")
    return summary


@pytest.mark.slow
def test_run_in_worker_processes_writes_the_report_folder_and_exit_says_the_verdict(tmp_path):
    out = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "golive", "scenario", "run", "erp-outage", "--mode", "sim",
         "--replications", "2", "--workers", "2", "--out", str(out), *SMALL],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert result.returncode == (0 if summary["passed"] else 1), result.stderr
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4
    assert "http://" not in html
    assert "https://" not in html
    junit = (out / "junit.xml").read_text()
    assert junit.count("<testcase") == len(summary["points"][0]["slos"]) == 3
    assert summary["meta"]["wall_time_s"] > 0


def test_same_seed_gives_identical_summary_numbers_inline_or_in_processes(tmp_path, capsys):
    args = ["scenario", "run", "duplicate-storm", "--replications", "2", "--seed", "5"]
    _golive([*args, "--workers", "1", "--out", str(tmp_path / "a")], capsys)
    _golive([*args, "--workers", "2", "--out", str(tmp_path / "b")], capsys)
    meta = [json.loads((tmp_path / f / "summary.json").read_text())["meta"] for f in "ab"]
    assert [m["executor"] for m in meta] == ["inline", "processes (2)"]
    assert _numbers(tmp_path / "a") == _numbers(tmp_path / "b")
    assert _numbers(tmp_path / "a")["seed"] == 5


def test_failed_slo_exits_1_after_writing_the_report(tmp_path, capsys):
    code, _out, err = _golive(
        ["scenario", "run", "duplicate-storm", "-n", "1", "--out", str(tmp_path),
         "--set", "middleware.idempotency=false"], capsys,
    )  # fmt: skip
    assert code == 1
    assert err.startswith("golive: ")
    assert len(err.strip().splitlines()) == 1
    assert (tmp_path / "junit.xml").read_text().count("<failure") >= 1


def test_sweep_plots_each_slo_against_the_swept_parameter(tmp_path, capsys):
    code, _out, _err = _golive(
        ["scenario", "run", "erp-outage", "-n", "2", "--workers", "1", "--out", str(tmp_path),
         "--sweep", "middleware.workers=2,8", *SMALL], capsys,
    )  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [p["params"]["middleware.workers"] for p in summary["points"]] == [2, 8]
    assert "Sweep of middleware.workers" in (tmp_path / "report.html").read_text()
    assert code == (0 if summary["passed"] else 1)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "middleware.wrokers=3"], "middleware.wrokers"),
        (["--mode", "live", "--speed", "0"], "--speed must be above 0"),
        (["--sweep", "middleware.workers"], "--sweep"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(tmp_path, capsys, args, needle):
    code, _out, err = _golive(["scenario", "run", "erp-outage", "--out", str(tmp_path), *args],
                              capsys)  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_bad_scenario_file_field_is_one_line_naming_the_field(tmp_path, capsys):
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nretry_base_delay_s: 1\nmiddleware: {workers: -1}\n")
    code, _out, err = _golive(["scenario", "run", str(bad)], capsys)
    assert code == 2
    assert "middleware.workers" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_scenario_lists_known_ones(capsys):
    code, _out, err = _golive(["scenario", "show", "nope"], capsys)
    assert code == 2
    assert "erp-outage" in err
    assert "quarter-end-spike" in err


def test_list_and_show_print_the_library(capsys):
    assert _golive(["scenario", "list"], capsys)[0] == 0
    code, out, _err = _golive(["scenario", "show", "erp-outage"], capsys)
    assert code == 0
    assert "retry_base_delay_s" in out
    assert "outage" in out


def test_scenario_module_imports_no_heavy_library():
    code = (
        "import sys, golive.cli.scenario; "
        "heavy = ('simpy', 'numpy', 'matplotlib', 'dask', 'distributed'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sweep_with_unknown_key_names_the_sweep_option(tmp_path, capsys):
    code, _out, err = _golive(["scenario", "run", "erp-outage", "--out", str(tmp_path),
                               "--sweep", "nonsense=1,2"], capsys)  # fmt: skip
    assert code == 2
    assert err.startswith("golive: --sweep: unknown key 'nonsense'")
    assert "--set" not in err


def test_a_scenario_without_slos_says_nothing_was_checked_and_does_not_pass(tmp_path, capsys):
    bare = tmp_path / "bare.yaml"
    bare.write_text("name: bare\nseed: 3\nduration_hours: 2\ndrain_hours: 1\n")
    out = tmp_path / "report"
    code, _out, err = _golive(["scenario", "run", str(bare), "-n", "1", "--out", str(out)],
                              capsys)  # fmt: skip
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "no SLOs" in err
    assert "nothing was checked" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "nothing checked"
    assert summary["passed"] is False
    assert summary["slo_checks"] == 0
    junit = (out / "junit.xml").read_text()
    assert junit.count("<testcase") == 1
    assert "nothing was checked" in junit
    html = (out / "report.html").read_text()
    assert "nothing was checked" in html
    assert "FAIL:" not in html  # the banner says what the terminal and summary say
    assert "NOTHING CHECKED:" in html


DYING = """name: dying
seed: 5
duration_hours: 3
drain_hours: 1
sample_interval_s: 60
arrivals: {baseline_deals_per_hour: 300, business_hours: null}
middleware: {retry: {max_attempts: 1}, circuit_breaker: {enabled: false}}
faults:
  - {system: erp, kind: outage, start_offset_minutes: 60, duration_minutes: 60}
slos:
  - {name: orders within an hour (p95), metric: latency_p95_s, flow: close_to_order,
     threshold: 3600}
"""


def test_percentiles_of_a_flow_that_dead_letters_fail_and_the_report_says_how_many(
    tmp_path, capsys
):
    scenario = tmp_path / "dying.yaml"
    scenario.write_text(DYING)
    out = tmp_path / "report"
    code, stdout, _err = _golive(["scenario", "run", str(scenario), "-n", "2", "--workers", "1",
                                  "--out", str(out)], capsys)  # fmt: skip
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())
    point = summary["points"][0]
    never = point["flows"]["close_to_order"]["never_completed"]["mean"]
    assert never > 0
    assert point["slos"][0]["mean"] is None  # +inf: more than 5 % never completed
    assert "inf" in stdout
    html = (out / "report.html").read_text()
    assert "never completed" in html
    assert f"{never:,.0f}" in html or f"{never:.3g}" in html


SWEEPABLE = DYING.replace("name: dying", "name: sweepable").replace(
    "  - {name: orders within an hour (p95), metric: latency_p95_s, flow: close_to_order,\n"
    "     threshold: 3600}\n",
    "  - {name: '[DLQ] nothing dead-lettered', metric: dead_letters, threshold: 0}\n",
)


def _sweep(tmp_path, capsys, values: str) -> tuple[int, str, dict, str]:
    scenario = tmp_path / "sweepable.yaml"
    scenario.write_text(SWEEPABLE)
    out = tmp_path / values.replace(",", "-")
    code, stdout, _err = _golive(
        ["scenario", "run", str(scenario), "-n", "1", "--workers", "1", "--out", str(out),
         "--sweep", f"middleware.retry.max_attempts={values}"], capsys,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    return code, stdout, summary, (out / "report.html").read_text()


def test_a_sweep_passes_when_one_point_meets_every_slo_and_says_so(tmp_path, capsys):
    code, stdout, summary, html = _sweep(tmp_path, capsys, "1,100")
    assert [p["passed"] for p in summary["points"]] == [False, True]
    assert code == 0
    assert summary["rule"] == "a sweep passes when at least one of its points meets every SLO"
    verdict = "1 of 2 sweep points meet every SLO (middleware.retry.max_attempts=100)"
    assert verdict in stdout
    assert verdict in html
    assert summary["rule"] in html
    # Names and keys whole, even off a terminal and with brackets in them.
    assert "middleware.retry.max_attempts=1 " in stdout
    assert "[DLQ] nothing dead-lettered" in stdout
    assert "…" not in stdout


def test_a_passing_sweep_junit_fails_nothing_and_skips_the_points_not_chosen(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    _sweep(tmp_path, capsys, "1,100")
    suite = ET.parse(tmp_path / "1-100" / "junit.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert suite.get("failures") == "0"
    rule = cases["sweep: at least one point meets every SLO"]
    assert rule.find("failure") is None
    skipped = cases["[DLQ] nothing dead-lettered [middleware.retry.max_attempts=1]"].find("skipped")
    assert "dead_letters" in skipped.get("message")
    assert cases["[DLQ] nothing dead-lettered [middleware.retry.max_attempts=100]"].find(
        "skipped") is None  # fmt: skip


def test_a_sweep_where_no_point_meets_every_slo_exits_1(tmp_path, capsys):
    code, stdout, summary, _html = _sweep(tmp_path, capsys, "1,2")
    assert summary["points_passed"] == 0
    assert code == 1
    assert "0 of 2 sweep points meet every SLO" in stdout
    junit = (tmp_path / "1-2" / "junit.xml").read_text()
    assert 'failures="3"' in junit  # both points, and the sweep's rule


def test_the_report_names_each_slo_metric_and_unit_and_zooms_on_each_fault(tmp_path, capsys):
    scenario = tmp_path / "dying.yaml"
    scenario.write_text(DYING)
    code, stdout, _err = _golive(["scenario", "run", str(scenario), "-n", "1", "--workers", "1",
                                  "--out", str(tmp_path)], capsys)  # fmt: skip
    assert code == 1  # the p95 SLO fails: more than 5 % of orders never complete
    html = (tmp_path / "report.html").read_text()
    assert "<th>metric</th>" in html
    assert "<th>unit</th>" in html
    assert "<td>latency_p95_s</td>" in html
    assert "<td>s</td>" in html
    assert "Fault window 1: outage (erp), hours 1 to 2" in html
    assert html.count("data:image/png;base64,") >= 5
    assert " unit " in stdout
    assert " latency_p95_s " in stdout


def test_list_is_never_truncated_off_a_terminal(capsys):
    from scenarios.catalog import library_names

    code, out, _err = _golive(["scenario", "list"], capsys)
    assert code == 0
    for name in library_names():
        assert f" {name} " in out
    assert "…" not in out


def test_help_shows_the_dask_extra_in_brackets(capsys):
    code, out, _err = _golive(["scenario", "run", "--help"], capsys)
    assert code == 0
    assert "golive[dask]" in out


def test_show_prints_the_yaml_as_is_brackets_included(tmp_path, capsys):
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\ndescription: 'needs [bold]golive[dask][/bold] installed'\n")
    code, out, _err = _golive(["scenario", "show", str(mine)], capsys)
    assert code == 0
    assert "needs [bold]golive[dask][/bold] installed" in out


@pytest.mark.parametrize("kind", ["not-utf8", "folder"])
def test_show_of_an_unreadable_scenario_file_is_one_line_naming_it(tmp_path, capsys, kind):
    if kind == "folder":
        target, expected = str(tmp_path), "is a folder"
    else:
        (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00name: x\n")
        target, expected = str(tmp_path / "bin.yaml"), "not UTF-8"
    code, _out, err = _golive(["scenario", "show", target], capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1
    assert target in err
    assert expected in err
    assert "internal error" not in err
