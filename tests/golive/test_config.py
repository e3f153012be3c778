from __future__ import annotations

from pathlib import Path

import pytest

from golive.config import load_config
from golive.errors import UsageProblem


def _config(tmp_path: Path, text: str):
    file = tmp_path / "golive.toml"
    file.write_text(text, encoding="utf-8")
    return load_config(file)


def test_local_is_built_in_on_the_default_ports(tmp_path):
    cfg = _config(tmp_path, "")
    assert cfg.target() == {
        "crm": "http://127.0.0.1:8101", "cpq": "http://127.0.0.1:8102",
        "billing": "http://127.0.0.1:8103", "support": "http://127.0.0.1:8104",
        "erp": "http://127.0.0.1:8105",
    }  # fmt: skip
    assert cfg.target("local", base_port=9700)["erp"] == "http://127.0.0.1:9704"


def test_flat_targets_still_override_local(tmp_path):
    cfg = _config(tmp_path, '[targets]\ncrm = "http://127.0.0.1:9999/"\n')
    assert cfg.targets["crm"] == "http://127.0.0.1:9999"
    assert cfg.target("local")["crm"] == "http://127.0.0.1:9999"
    assert cfg.target("local")["cpq"] == "http://127.0.0.1:8102"


def test_named_targets_by_host_and_port_or_by_url(tmp_path):
    urls = "\n".join(f'{s} = "https://{s}.staging.example.com"'
                     for s in ("crm", "cpq", "billing", "support", "erp"))  # fmt: skip
    cfg = _config(
        tmp_path,
        '[targets]\ncrm = "http://127.0.0.1:9999"\n'
        '[targets.sims]\nhost = "10.0.0.5"\nbase_port = 9201\n'
        f"[targets.staging]\n{urls}\nowned = true\n",
    )
    assert cfg.target("sims")["support"] == "http://10.0.0.5:9204"
    assert cfg.target("staging")["billing"] == "https://billing.staging.example.com"
    assert cfg.target_owned("staging") is True
    assert cfg.target_owned("sims") is False
    assert cfg.target_spec("sims").simulated
    assert not cfg.target_spec("staging").simulated
    assert cfg.target_names() == ["local", "sims", "staging"]


def test_unknown_target_is_one_line_usage_problem(tmp_path):
    cfg = _config(tmp_path, "")
    with pytest.raises(UsageProblem, match="unknown target 'prod'") as info:
        cfg.target("prod")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('crm = "https://crm.example.com"', "missing: cpq, billing, support, erp"),
        ('host = "127.0.0.1"\nbase_port = "x"', "base_port must be a port number"),
        ('host = "127.0.0.1"\nowned = "yes"', "owned must be true or false"),
        ('host = "127.0.0.1"\npassword = "s3cret"', "unknown key 'password'"),
        ('host = "127.0.0.1"\ncrm = "ftp://x"', "targets.bad.crm must be an http"),
    ],
)
def test_bad_target_tables_are_refused_by_name(tmp_path, table, message):
    with pytest.raises(UsageProblem, match=message):
        _config(tmp_path, f"[targets.bad]\n{table}\n")


def test_credentials_come_from_the_environment_per_target_first(tmp_path, monkeypatch):
    cfg = _config(tmp_path, '[targets.stage-eu]\nhost = "127.0.0.1"\nbase_port = 9000\n')
    assert cfg.credentials("stage-eu") == ("golive", "golive-secret")
    monkeypatch.setenv("GOLIVE_CLIENT_ID", "team")
    monkeypatch.setenv("GOLIVE_CLIENT_SECRET", "team-secret")
    monkeypatch.setenv("GOLIVE_STAGE_EU_CLIENT_SECRET", "eu-secret")
    cfg = load_config(tmp_path / "golive.toml")
    assert cfg.credentials("stage-eu") == ("team", "eu-secret")
    assert cfg.credentials("local") == ("team", "team-secret")


def test_load_slos_table_is_read(tmp_path):
    cfg = _config(tmp_path, "[load.slos]\np95_ms = 250\nerror_rate = 0.01\n")
    assert cfg.load_slos == {"p95_ms": 250, "error_rate": 0.01}


def test_local_is_owned_and_a_remote_target_only_when_it_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no golive.toml here
    cfg = load_config()
    assert cfg.target_owned("local")
    cfg = _config(
        tmp_path,
        '[targets.ci]\nhost = "10.0.0.7"\nbase_port = 9100\n'
        '[targets.ci-owned]\nhost = "10.0.0.8"\nbase_port = 9100\nowned = true\n'
        '[targets.mine]\nhost = "127.0.0.1"\nbase_port = 9300\n',
    )
    assert not cfg.target_owned("ci")
    assert cfg.target_owned("ci-owned")
    assert cfg.target_owned("mine")
    assert cfg.target("ci", base_port=9200)["crm"] == "http://10.0.0.7:9200"


def test_a_base_port_does_not_apply_to_a_target_of_urls(tmp_path):
    urls = "\n".join(f'{s} = "https://{s}.staging.example.com"'
                     for s in ("crm", "cpq", "billing", "support", "erp"))  # fmt: skip
    cfg = _config(tmp_path, f"[targets.staging]\n{urls}\n")
    assert not cfg.target_owned("staging")
    with pytest.raises(UsageProblem, match="base-port"):
        cfg.target("staging", base_port=9500)


def test_an_unknown_target_names_the_known_ones(tmp_path):
    cfg = _config(tmp_path, '[targets.ci]\nhost = "h"\nbase_port = 9100\n')
    with pytest.raises(UsageProblem, match=r"unknown target 'prod'.*local, ci"):
        cfg.target("prod")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[target]\ncrm = "http://127.0.0.1:1"\n',
            "unknown table or key 'target' \\(known: targets, sut, slos, limits, faults, load\\)",
        ),
        ("[zzz]\n", "unknown table or key 'zzz'"),
        ("[load]\nzzz = 1\n", r"\[load\] has unknown key 'zzz' \(known: slos\)"),
        ('[sut]\nurl = "http://x"\ncmd = "x"\n', r"\[sut\] has unknown key 'cmd'"),
        ('[targets.ci]\nhost = "127.0.0.1"\n', "targets.ci has host but no base_port"),
        ("[targets.ci]\nbase_port = 9100\n", "targets.ci has base_port but no host"),
    ],
)
def test_typos_and_half_targets_are_refused_by_name(tmp_path, text, message):
    (tmp_path / "golive.toml").write_text(text)
    with pytest.raises(UsageProblem, match=message):
        load_config(tmp_path / "golive.toml")


@pytest.mark.parametrize("kind", ["bytes", "folder"])
def test_an_unreadable_golive_toml_is_one_line_naming_it(tmp_path, kind):
    file = tmp_path / "golive.toml"
    if kind == "folder":
        file.mkdir()
    else:
        file.write_bytes(b"\xff\xfe")
    with pytest.raises(UsageProblem, match=r"golive\.toml"):
        load_config(file)


def test_limits_take_the_vendor_profile_with_fields_over_it(tmp_path):
    from lifecycle.limits import VENDOR_LIMITS, LimitSettings

    cfg = _config(tmp_path, '[limits]\nprofile = "vendor"\n[limits.erp]\nconcurrency = 5\n')
    assert set(cfg.limits) == set(VENDOR_LIMITS)
    assert cfg.limits["erp"] == LimitSettings(
        **{**VENDOR_LIMITS["erp"].as_dict(), "concurrency": 5}
    )
    assert cfg.limits["crm"] == VENDOR_LIMITS["crm"]
    only = _config(tmp_path, "[limits.billing]\nrate_per_s = 25\n")
    assert only.limits == {"billing": LimitSettings(rate_per_s=25)}
    assert _config(tmp_path, "").limits == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[limits]\nprofile = "fast"\n', "limits profile must be vendor or off"),
        ("[limits.hr]\nconcurrency = 1\n", r"\[limits\] has unknown key\(s\) \['hr'\]"),
        ("[limits.erp]\nconcurency = 1\n", r"\[limits.erp\] has unknown key\(s\)"),
        ("[limits.erp]\nconcurrency = 0\n", r"\[limits.erp\] concurrency must be a positive"),
        ("[limits.erp]\nburst = 3\n", r"\[limits.erp\] burst needs rate_per_s"),
        ('[limits.erp]\nconcurrency = "5"\n', r"\[limits.erp\] concurrency must be a positive"),
    ],
)
def test_bad_limits_are_refused_in_one_line_naming_the_table(tmp_path, text, message):
    with pytest.raises(UsageProblem, match=message):
        _config(tmp_path, text)
