"""golive.toml: named targets, the flat form of old, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from golive.config import load_config
from golive.errors import UsageProblem


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "golive.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_local_is_built_in_and_follows_a_base_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no golive.toml here
    cfg = load_config()
    assert cfg.target() == {
        "crm": "http://127.0.0.1:8101", "cpq": "http://127.0.0.1:8102",
        "billing": "http://127.0.0.1:8103", "support": "http://127.0.0.1:8104",
        "erp": "http://127.0.0.1:8105",
    }  # fmt: skip
    assert cfg.target("local", base_port=9500)["erp"] == "http://127.0.0.1:9504"
    assert cfg.owned("local")


def test_named_targets_by_host_and_port_or_by_url(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, """
[targets.ci]
host = "10.0.0.7"
base_port = 9100

[targets.staging]
crm = "https://crm.staging.example.com/"
cpq = "https://cpq.staging.example.com"
billing = "https://billing.staging.example.com"
support = "https://support.staging.example.com"
erp = "https://erp.staging.example.com"
"""))  # fmt: skip
    assert cfg.target("ci")["cpq"] == "http://10.0.0.7:9101"
    assert cfg.target("ci", base_port=9200)["crm"] == "http://10.0.0.7:9200"
    assert cfg.owned("ci")
    assert cfg.target("staging")["crm"] == "https://crm.staging.example.com"
    assert not cfg.owned("staging")
    with pytest.raises(UsageProblem, match="base-port"):
        cfg.target("staging", base_port=9500)


def test_the_flat_form_overrides_local(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, '[targets]\ncrm = "http://127.0.0.1:7001"\n'))
    assert cfg.target()["crm"] == "http://127.0.0.1:7001"
    assert cfg.target()["erp"] == "http://127.0.0.1:8105"
    assert cfg.targets == cfg.target()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[targets.x]\nhost = "h"\nbase_port = 9100\ncrm = "http://a"\n', "either"),
        ('[targets.x]\ncrm = "http://a"\n', "missing"),
        ('[targets.x]\nhost = "h"\nbase_port = "9100"\n', "base_port"),
        ('[targets.x]\nhost = "h"\nbase_port = 9100\nowned = "yes"\n', "owned"),
        ('[targets.x]\nhost = "h"\nbase_port = 9100\npassword = "p"\n', "password"),
        ('[targets]\ncrm = "ftp://a"\n', "http"),
    ],
)
def test_a_bad_target_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageProblem, match=message) as info:
        load_config(_config(tmp_path, text))
    assert "\n" not in str(info.value)


def test_an_unknown_target_names_the_known_ones(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, '[targets.ci]\nhost = "h"\nbase_port = 9100\n'))
    with pytest.raises(UsageProblem, match=r"unknown target 'prod'.*ci, local"):
        cfg.target("prod")
