from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lifecycle.synth import SynthParams, generate
from loadtests.data import DataProblem, load_data, system_urls


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(SynthParams(accounts=60, seed=5, years=1, as_of="2026-12-01"), out)
    return out


def test_urls_default_to_the_local_simulators():
    assert system_urls(env={}) == {
        "crm": "http://127.0.0.1:8101", "cpq": "http://127.0.0.1:8102",
        "billing": "http://127.0.0.1:8103", "support": "http://127.0.0.1:8104",
        "erp": "http://127.0.0.1:8105",
    }  # fmt: skip


def test_locust_host_names_the_crm_and_the_simulators_after_it():
    urls = system_urls("http://127.0.0.1:9700/", env={"GOLIVE_ERP_URL": "https://erp.example.com/"})
    assert urls["crm"] == "http://127.0.0.1:9700"
    assert urls["support"] == "http://127.0.0.1:9703"
    assert urls["erp"] == "https://erp.example.com"


def test_a_host_without_port_is_the_crm_only():
    urls = system_urls("https://crm.example.com", env={})
    assert urls["crm"] == "https://crm.example.com"
    assert urls["cpq"] == "http://127.0.0.1:8102"


def test_data_keeps_what_the_flows_can_use(folder):
    data = load_data(folder, today="2026-12-01", erp_entities=frozenset({"US01", "CA01"}))
    assert data.quotable_accounts()
    assert {c["legal_entity"] for c in data.erp_customers} <= {"US01", "CA01"}
    assert all(c["credit_room_minor"] > c["credit_limit_minor"] // 4 for c in data.erp_customers)
    for sub in data.subscriptions:
        assert sub["current_period_start"] <= "2026-12-01" < sub["current_period_end"]
        assert any(i["usage_based"] for i in sub["items"])
    lines = data.recurring_lines("USD", random.Random(1), 3)
    assert len(lines) == 3
    assert all(data.products[ln["product_id"]]["billing_type"] == "recurring" for ln in lines)


def test_subscriptions_outside_their_period_are_left_out(folder):
    assert load_data(folder, today="2031-01-01").subscriptions == []


def test_csv_data_reads_like_ndjson(tmp_path):
    generate(SynthParams(accounts=20, seed=5, years=1, as_of="2026-12-01", fmt="csv"), tmp_path)
    data = load_data(tmp_path, today="2026-12-01")
    assert data.price_books["USD"]["entries"][0]["sku"]
    assert isinstance(data.erp_customers[0]["credit_limit_minor"], int)


def test_missing_data_is_a_one_line_problem(tmp_path, monkeypatch):
    monkeypatch.delenv("GOLIVE_LOAD_DATA", raising=False)
    with pytest.raises(DataProblem, match="GOLIVE_LOAD_DATA"):
        load_data()
    with pytest.raises(DataProblem, match=r"no manifest\.json"):
        load_data(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "ndjson", "files": {}}))
    with pytest.raises(DataProblem, match="has no account"):
        load_data(tmp_path)
