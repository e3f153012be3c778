"""contracts.fuzz against a real simulator: bounded, seeded, with a short-lived token.

The simulator runs in its own process (as ``golive up`` runs it); the runs are cut to
a few operations and phases so the file takes seconds. ``golive contracts fuzz`` by
hand runs every phase (README, "Contracts: governance and fuzzing").
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from schemathesis.engine import events

from contracts.fuzz import FuzzOptions, TokenError, TokenSource, run_fuzz
from contracts.specs import committed_spec
from golive.cli import exit_status
from simulators.estate import running_estate
from simulators.testing import free_base_port

TTL_S = 3  # a new token every second: the refresh margin is at least 2 s


@pytest.fixture(scope="module")
def crm_url():
    # Threads mode, to reach the app and shorten its tokens' lifetime.
    with running_estate(["crm"]) as estate:
        estate.apps["crm"].state.sim.rt.tokens.ttl_s = TTL_S
        yield estate.url("crm")


def _only(system: str, *paths: str) -> dict[str, Any]:
    spec = json.loads(committed_spec(system) or "{}")
    spec["paths"] = {p: spec["paths"][p] for p in paths}
    return spec


def test_the_token_is_fetched_again_before_it_expires(crm_url: str) -> None:
    now = [1000.0]
    tokens = TokenSource(f"{crm_url}/oauth/token", "golive", "golive-secret", clock=lambda: now[0])
    first = tokens.token()
    now[0] += 0.9  # the margin is 2 s of the 3
    assert tokens.token() == first
    assert tokens.fetched == 1
    now[0] += 0.2
    tokens.token()
    assert tokens.fetched == 2
    tokens.invalidate()
    tokens.token()
    assert tokens.fetched == 3


def test_wrong_credentials_are_one_line(crm_url: str) -> None:
    with pytest.raises(TokenError, match="answered 401 for client 'golive'"):
        TokenSource(f"{crm_url}/oauth/token", "golive", "nope").token()


@pytest.mark.slow
def test_a_bounded_stateful_run_finds_nothing_and_follows_links(crm_url: str) -> None:
    seen: Counter[tuple[str, int, bool]] = Counter()  # (phase op, status, token expired)

    def on_event(event: Any) -> None:
        if isinstance(event, events.ScenarioFinished):
            for case_id, exchange in event.recorder.interactions.items():
                case = event.recorder.cases[case_id].value
                response = exchange.response
                status = response.status_code if response else 0
                expired = status == 401 and b"token_expired" in (response.content or b"")
                seen[(f"{event.phase.value} {case.operation.label}", status, expired)] += 1

    spec = _only("crm", "/accounts", "/accounts/{account_id}")
    options = FuzzOptions(system="crm", base_url=crm_url, spec=spec, client_id="golive",
                          client_secret="golive-secret", max_examples=3, seed=3,
                          phases=("fuzzing",), stateful=True)  # fmt: skip
    result = run_fuzz(options, on_event)
    assert result.passed, result.failures[:3] or result.errors[:3]
    # Links: the stateful phase reads and updates what it created.
    assert seen[("stateful GET /accounts/{account_id}", 200, False)] > 0
    assert any(k[0] == "stateful PATCH /accounts/{account_id}" and k[1] == 200 for k in seen)
    # Tokens were fetched again during the run (a token is refreshed 2 s before its 3 s
    # lapse) and no request met an expired one. How many came depends on how many requests
    # a loaded machine made, so no more than two are asserted. (Other 401s are
    # Schemathesis' own negative cases: no or a garbled Authorization header.)
    assert result.tokens_fetched >= min(2, int(result.elapsed_s))
    assert not [k for k in seen if k[2]]


@pytest.mark.slow
def test_a_response_the_spec_does_not_declare_fails_the_run_with_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _only("crm", "/accounts")
    del spec["paths"]["/accounts"]["post"]["responses"]["201"]  # a create now "never succeeds"
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    base = free_base_port()
    with running_estate(["crm"], mode="processes", base_port=base) as estate:
        argv = [
            *("contracts", "fuzz", "--system", "crm", "--base-url", estate.url("crm")),
            *("--spec", str(tmp_path / "spec.json"), "--max-examples", "3", "--seed", "1"),
            *("--phases", "fuzzing", "--no-stateful", "--junit", str(tmp_path / "j.xml")),
        ]
        code = exit_status(argv)
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("golive: FAIL crm at ")
    assert "seed 1" in err
    assert "POST /accounts" in out
    junit = (tmp_path / "j.xml").read_text()
    assert "<failure" in junit
    assert 'name="POST /accounts"' in junit


def test_the_stateful_phase_reaches_what_only_a_link_leads_to(crm_url: str) -> None:
    # Random ids never find an account; only a create -> read link gets a 200 here.
    spec = _only("crm", "/accounts", "/accounts/{account_id}")
    del spec["paths"]["/accounts/{account_id}"]["get"]["responses"]["200"]
    options = FuzzOptions(system="crm", base_url=crm_url, spec=spec, client_id="golive",
                          client_secret="golive-secret", max_examples=3, seed=3,
                          phases=("examples",), stateful=True)  # fmt: skip
    result = run_fuzz(options)
    found = {(f.phase, f.operation, f.title) for f in result.failures}
    assert found == {("stateful", "GET /accounts/{account_id}", "Undocumented status code")}
