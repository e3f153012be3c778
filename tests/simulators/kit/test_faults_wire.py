"""Each wire fault as a real HTTP client meets it, on a real uvicorn on loopback."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from simulators.kit.runtime import SimConfig
from simulators.registry import create_app


@pytest.fixture
def server(wire):
    with wire.serving(create_app("crm", SimConfig(seed=3))) as url:
        yield url, {"Authorization": f"Bearer {wire.token_for(url)}"}


def _rule(url: str, **rule) -> dict:
    response = httpx.post(f"{url}/_sim/faults", json=rule)
    assert response.status_code == 201, response.text
    return response.json()


def _journal(url: str, path: str = "/accounts") -> list[dict]:
    return httpx.get(f"{url}/_sim/journal", params={"path": path}).json()["data"]


def _accounts(url: str, auth: dict) -> list[dict]:
    return httpx.get(f"{url}/accounts", headers=auth).json()["data"]


def test_latency_delays_the_response_and_marks_it(server):
    url, auth = server
    _rule(url, kind="latency", params={"fixed_ms": 300}, match={"method": "GET"}, count=1)
    started = time.perf_counter()
    r = httpx.get(f"{url}/accounts", headers=auth)
    assert time.perf_counter() - started >= 0.3
    assert r.status_code == 200
    assert r.headers["x-golive-fault"] == "latency"
    started = time.perf_counter()
    assert "x-golive-fault" not in httpx.get(f"{url}/accounts", headers=auth).headers
    assert time.perf_counter() - started < 0.3


def test_an_error_is_problem_json_with_the_status_and_code_asked_for(server):
    url, auth = server
    rule = _rule(url, kind="error", params={"status": 502, "code": "upstream_down"})
    r = httpx.post(f"{url}/accounts", json={"name": "A"}, headers=auth)
    assert r.status_code == 502
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-golive-fault"] == "error"
    assert r.json()["code"] == "upstream_down"
    assert rule["id"] in r.json()["detail"]
    httpx.delete(f"{url}/_sim/faults")
    assert _accounts(url, auth) == []  # the request never ran


def test_a_rate_limit_lets_the_burst_through_then_answers_429_with_retry_after(server):
    url, auth = server
    _rule(url, kind="rate_limit", params={"requests_per_s": 0.01, "burst": 2})
    statuses = [httpx.get(f"{url}/accounts", headers=auth) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[2]
    assert refused.json()["code"] == "rate_limit_exceeded"
    assert 90 <= int(refused.headers["retry-after"]) <= 100
    assert refused.headers["ratelimit-limit"] == "2"
    assert refused.headers["ratelimit-remaining"] == "0"


def test_an_outage_is_503_with_retry_after_and_is_journaled(server):
    url, auth = server
    rule = _rule(url, kind="outage", params={"retry_after_s": 30})
    r = httpx.post(f"{url}/accounts", json={"name": "A"},
                   headers={**auth, "Idempotency-Key": "k-1"})  # fmt: skip
    assert r.status_code == 503
    assert r.headers["retry-after"] == "30"
    [entry] = _journal(url)
    assert (entry["status"], entry["fault"], entry["idempotency_key"]) == (503, rule["id"], "k-1")


def test_a_drop_closes_the_connection_without_a_byte_of_response(server, wire):
    url, auth = server
    rule = _rule(url, kind="drop", match={"method": "GET", "path": "/accounts"}, count=2)
    request = f"GET /accounts HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}\r\n\r\n"
    assert wire.raw_exchange(url, request.encode(), timeout_s=3) == b""
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(f"{url}/accounts", headers=auth)
    assert httpx.get(f"{url}/accounts", headers=auth).status_code == 200  # count spent
    entries = _journal(url)
    assert [(e["status"], e["fault"]) for e in entries] == [
        (444, rule["id"]), (444, rule["id"]), (200, None)
    ]  # fmt: skip
    metrics = httpx.get(f"{url}/metrics").text
    assert 'golive_faults_fired_total{system="crm",kind="drop"} 2' in metrics


def test_a_lost_response_commits_and_only_an_idempotent_retry_learns_the_outcome(server):
    url, auth = server
    rule = _rule(url, kind="lost_response", match={"method": "POST"}, count=1)
    headers = {**auth, "Idempotency-Key": "order-1"}
    r = httpx.post(f"{url}/accounts", json={"name": "Lost"}, headers=headers)
    assert r.status_code == 500
    assert r.json()["code"] == "lost_response"
    [created] = _accounts(url, auth)  # the write committed all the same
    assert created["name"] == "Lost"
    retry = httpx.post(f"{url}/accounts", json={"name": "Lost"}, headers=headers)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == created["id"]
    assert [e["fault"] for e in _journal(url) if e["method"] == "POST"] == [rule["id"], None]


def test_a_lost_response_in_timeout_mode_leaves_the_client_to_its_own_timeout(server):
    url, auth = server
    _rule(url, kind="lost_response", params={"mode": "timeout"}, match={"method": "POST"})
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{url}/accounts", json={"name": "Late"}, headers=auth, timeout=0.5)
    assert time.perf_counter() - started < 3
    assert [a["name"] for a in _accounts(url, auth)] == ["Late"]


def test_a_slow_body_sends_the_headers_at_once_and_trickles_the_body(server):
    url, auth = server
    _rule(url, kind="slow_body", params={"extra_ms": 600}, match={"method": "GET"})
    started = time.perf_counter()
    with httpx.stream("GET", f"{url}/accounts", headers=auth) as r:
        headers_after = time.perf_counter() - started
        assert r.headers["x-golive-fault"] == "slow_body"
        chunks = list(r.iter_raw())
        body_after = time.perf_counter() - started
    assert headers_after < 0.4
    assert body_after >= 0.6
    assert b"".join(chunks).startswith(b'{"data"')


def test_lognormal_latency_has_the_median_and_99th_percentile_asked_for():
    from lifecycle.faults import FaultSpec
    from simulators.kit.fault_rules import ActiveRule

    spec = FaultSpec(kind="latency", params={"p50_ms": 200, "p99_ms": 2000})
    rule = ActiveRule("flt_000001", spec, seed=11, now=0.0)
    samples = sorted(rule.delay_s() for _ in range(20_000))
    assert statistics.median(samples) == pytest.approx(0.2, rel=0.05)
    assert samples[int(0.99 * len(samples))] == pytest.approx(2.0, rel=0.1)
    one, two = (ActiveRule("flt_000001", spec, seed=11, now=0.0) for _ in range(2))
    assert [one.delay_s() for _ in range(5)] == [two.delay_s() for _ in range(5)]


def test_a_window_on_the_simulator_clock_and_a_count_hold_on_the_wire(server):
    url, auth = server
    httpx.post(f"{url}/_sim/clock/freeze", json={"at": "2030-06-01T00:00:00Z"})
    window = {"start": "2030-06-01T01:00:00Z", "duration_s": 600}
    rule = _rule(url, kind="outage", window=window, count=2)
    statuses = [httpx.get(f"{url}/accounts", headers=auth).status_code]
    httpx.post(f"{url}/_sim/clock/advance", json={"seconds": 3600})
    statuses += [httpx.get(f"{url}/accounts", headers=auth).status_code for _ in range(3)]
    assert statuses == [200, 503, 503, 200]  # not yet open; then at most twice
    [listed] = httpx.get(f"{url}/_sim/faults").json()["data"]
    assert (listed["id"], listed["fired"], listed["active"]) == (rule["id"], 2, False)
    assert listed["window"]["end"] == "2030-06-01T01:10:00.000000Z"


def test_the_same_seed_fires_the_same_faults_on_two_servers(wire):
    patterns = []
    for _ in range(2):
        with wire.serving(create_app("crm", SimConfig(seed=42))) as url:
            auth = {"Authorization": f"Bearer {wire.token_for(url)}"}
            _rule(url, kind="error", probability=0.3)
            with httpx.Client(headers=auth) as client:
                patterns.append([client.get(f"{url}/accounts").status_code for _ in range(30)])
    assert patterns[0] == patterns[1]
    assert 0 < patterns[0].count(500) < 30


def test_a_bad_rule_is_refused_on_the_wire_with_problem_json(server):
    url, _ = server
    r = httpx.post(f"{url}/_sim/faults", json={"kind": "rate_limit", "params": {"burst": 0}})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_fault_rule"
    assert r.json()["errors"][0]["field"] == "params.burst"
