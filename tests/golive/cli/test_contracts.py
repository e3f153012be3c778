"""``golive contracts export|diff|fuzz``: exit statuses, outputs and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.specs import committed_spec
from golive.cli import exit_status as _run


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = _run(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "internal error" not in err
    return err


@pytest.fixture
def crm_pair(tmp_path: Path) -> tuple[Path, Path]:
    old = json.loads(committed_spec("crm") or "{}")
    new = json.loads(committed_spec("crm") or "{}")
    new["components"]["schemas"]["Account"]["properties"].pop("segment")
    new["paths"]["/accounts"]["get"]["parameters"].append(
        {"name": "region", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    return tmp_path / "old.json", tmp_path / "new.json"


def test_diff_of_a_breaking_change_exits_1_with_table_and_json(
    crm_pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = crm_pair
    code = _run(["contracts", "diff", str(old), str(new), "--json", str(tmp_path / "d.json")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "BREAKING" in out
    assert "response-property-removed" in out
    assert "breaking change(s)" in err
    report = json.loads((tmp_path / "d.json").read_text())
    rules = {(c["rule"], c["breaking"]) for c in report["changes"]}
    assert ("response-property-removed", True) in rules
    assert ("request-parameter-added", False) in rules
    assert report["breaking"] == sum(c["breaking"] for c in report["changes"])


def test_diff_the_other_way_is_not_breaking_and_exits_0(
    crm_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = crm_pair
    assert _run(["contracts", "diff", str(new), str(old), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["breaking"] == 0
    assert report["non_breaking"] >= 1


def test_a_system_name_compares_the_reviewed_copy_with_the_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(["contracts", "diff", "crm"]) == 0
    assert "0 breaking, 0 non-breaking" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ('{"swagger": "2.0", "paths": {}}', "not an OpenAPI 3 document"),
        ("{ not: [json", "neither JSON nor YAML"),
        (b"\xff\xfe\x00", "cannot read"),
    ],
)
def test_diff_of_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, message: str
) -> None:
    bad = tmp_path / "bad.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    assert message in _one_line_exit_2(capsys, ["contracts", "diff", "crm", str(bad)])


def test_diff_refuses_an_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--format" in _one_line_exit_2(capsys, ["contracts", "diff", "crm", "--format", "xml"])


def test_export_check_passes_when_the_copies_match(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["contracts", "export", "--check", "--only", "crm,erp"]) == 0
    assert "match the code" in capsys.readouterr().out


def test_export_rewrites_a_drifted_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import contracts.specs as specs

    monkeypatch.setattr(specs, "SPEC_DIR", tmp_path)
    (tmp_path / "crm.json").write_text("{}")
    assert _run(["contracts", "export", "--check", "--only", "crm"]) == 1
    assert "differs from the code" in capsys.readouterr().err
    assert _run(["contracts", "export", "--only", "crm"]) == 0
    assert json.loads((tmp_path / "crm.json").read_text())["openapi"].startswith("3.1")
    assert _run(["contracts", "export", "--check", "--only", "crm"]) == 0


def test_export_refuses_an_unknown_system(capsys: pytest.CaptureFixture[str]) -> None:
    assert "unknown system" in _one_line_exit_2(capsys, ["contracts", "export", "--only", "hr"])


def test_fuzz_refuses_an_unknown_system(capsys: pytest.CaptureFixture[str]) -> None:
    assert "unknown system" in _one_line_exit_2(capsys, ["contracts", "fuzz", "--system", "hr"])


def test_fuzz_at_a_url_where_nothing_answers_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from simulators.testing import free_base_port

    url = f"http://127.0.0.1:{free_base_port(1)}"
    err = _one_line_exit_2(capsys, ["contracts", "fuzz", "--system", "crm", "--base-url", url])
    assert "nothing answers" in err


def test_fuzz_with_wrong_credentials_is_exit_2(
    crm_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOLIVE_CLIENT_SECRET", "wrong")
    argv = ["contracts", "fuzz", "--system", "crm", "--base-url", crm_url]
    assert "answered 401" in _one_line_exit_2(capsys, argv)


@pytest.fixture(scope="module")
def crm_url():
    from simulators.estate import running_estate

    with running_estate(["crm"]) as estate:
        yield estate.url("crm")
