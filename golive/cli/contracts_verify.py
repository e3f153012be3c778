"""``golive contracts verify``: the Pact verifier against the simulators or staging.

Thin: ``contracts.verify`` runs the verifier; this module reads the options, finds
or starts the simulators, prints each interaction and writes JUnit.
docs/contracts.md, "Verifying pacts".
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer

from golive.errors import CheckFailed, UsageProblem

__all__ = ["register"]

_DEFAULT_PACTS = Path("contracts/pacts")


def _reachable(url: str, what: str) -> None:
    import httpx

    if not url.startswith(("http://", "https://")):
        raise UsageProblem(f"{what} {url}: not an http(s) URL")
    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError as exc:
        raise UsageProblem(f"{what} {url}: unreachable ({type(exc).__name__})") from None


def _headers(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise UsageProblem(f"--header {value!r}: write it as 'Name: value'")
        out[name.strip()] = text.strip()
    return out


def _broker(url: str, selectors: list[str], pending: bool, wip: str | None,
            branch: str | None) -> Any:  # fmt: skip
    from contracts.verify import BrokerOptions, check_selector

    parsed = []
    for text in selectors:
        try:
            parsed.append(check_selector(json.loads(text)))
        except ValueError as exc:
            raise UsageProblem(f"--consumer-version-selector {text!r}: {exc}") from None
    since = None
    if wip is not None:
        try:
            since = date.fromisoformat(wip)
        except ValueError:
            raise UsageProblem(f"--include-wip-since {wip!r}: not a date (YYYY-MM-DD)") from None
    _reachable(url, "--broker-url")
    return BrokerOptions(url.rstrip("/"), parsed, pending, since, branch)


def _local_providers(pacts: Path, provider: str | None) -> tuple[dict[str, list[Path]], Any]:
    from contracts.verify import read_pacts, system_of

    if not pacts.is_dir():
        raise UsageProblem(f"--pacts {pacts}: no such folder")
    found = read_pacts(pacts)
    if found.problems:
        raise UsageProblem(found.problems[0])
    if not found.by_provider:
        raise UsageProblem(f"--pacts {pacts}: no pact files (*.json) in it")
    chosen = found.by_provider
    if provider is not None:
        chosen = {p: f for p, f in found.by_provider.items()
                  if provider in (p, system_of(p))}  # fmt: skip
        if not chosen:
            raise UsageProblem(
                f"--provider {provider!r}: no pact in {pacts} names it; "
                f"providers there: {', '.join(sorted(found.by_provider))}"
            )
    return chosen, found.message_kinds


def verify(
    provider: str | None = typer.Option(
        None, "--provider", help="Provider to verify (default: every provider of the pacts)."
    ),
    pacts: Path | None = typer.Option(
        None, "--pacts", help="Folder of pact files (default: contracts/pacts/)."
    ),
    broker_url: str | None = typer.Option(
        None,
        "--broker-url",
        help="Take the pacts from this Pact Broker (PACT_BROKER_TOKEN or "
        "PACT_BROKER_USERNAME/_PASSWORD authenticate).",
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Verify this deployment (staging) instead of the simulators."
    ),
    state_change_url: str | None = typer.Option(
        None,
        "--state-change-url",
        help="Staging (--base-url or target): the team's Pact state-change endpoint.",
    ),
    target: str = typer.Option("local", "--target", help="A target of golive.toml."),
    base_port: int | None = typer.Option(
        None, "--base-port", min=1, max=65531, help="Port of the first running simulator."
    ),
    start: bool = typer.Option(
        True, "--start/--no-start", help="Start the simulators when none answer."
    ),
    header: list[str] = typer.Option(
        [], "--header", help="'Name: value' sent with every request (repeatable)."
    ),
    selector: list[str] = typer.Option(
        [],
        "--consumer-version-selector",
        help="Broker selector as JSON, e.g. '{\"mainBranch\": true}' (repeatable).",
    ),
    enable_pending: bool = typer.Option(
        False, "--enable-pending", help="Broker: a pending pact's failure does not fail the run."
    ),
    wip_since: str | None = typer.Option(
        None, "--include-wip-since", help="Broker: also verify WIP pacts since DATE (YYYY-MM-DD)."
    ),
    provider_branch: str | None = typer.Option(
        None, "--provider-branch", help="Broker: the provider's branch (selectors, publication)."
    ),
    publish: bool = typer.Option(
        False, "--publish", help="Publish the results to the broker (needs --provider-version)."
    ),
    provider_version: str | None = typer.Option(
        None, "--provider-version", help="The provider version the results are published for."
    ),
    junit: Path | None = typer.Option(
        None, "--junit", help="Write JUnit XML: one testcase per interaction."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the results as JSON."),
) -> None:
    """Verify consumer pacts (HTTP and message) with the Pact verifier; exit 1 on a failure.

    Against the simulators (default) it starts them or attaches to running ones
    (--target, --base-port), sets each provider state through /_sim/provider-states
    (and resets the simulator after each interaction), and answers message
    interactions with the simulator's real events. Against staging (--base-url) the
    provider states go to --state-change-url.

    Exit 0: every interaction passed (pending ones may fail); 1: a failure; 2: bad input.

    Example: golive contracts verify --provider crm --junit pacts.xml
    """
    from golive.cli._verify_run import run_verification

    if pacts is not None and broker_url is not None:
        raise UsageProblem("--pacts and --broker-url: choose one source of pacts")
    if publish and not provider_version:
        raise UsageProblem("--publish needs --provider-version")
    if publish and broker_url is None:
        raise UsageProblem("--publish publishes to a broker: give --broker-url")
    broker_only = selector or enable_pending or wip_since or provider_branch
    if broker_only and broker_url is None:
        raise UsageProblem(
            "selectors, --enable-pending, --include-wip-since and --provider-branch "
            "choose pacts from a broker: give --broker-url"
        )
    if base_url is not None and provider is None:
        raise UsageProblem("--base-url is one system: name it with --provider")
    if broker_url is not None and provider is None:
        raise UsageProblem("--broker-url: name the provider to fetch pacts for with --provider")
    extra = _headers(header)
    if broker_url is not None:
        broker = _broker(broker_url, selector, enable_pending, wip_since, provider_branch)
        chosen: dict[str, list[Path]] = {str(provider): []}
        kinds: dict[str, Any] = {}
    else:
        broker = None
        chosen, kinds = _local_providers(pacts or _DEFAULT_PACTS, provider)
    if base_url is not None:
        _reachable(base_url.rstrip("/"), "--base-url")
    if state_change_url is not None:
        _reachable(state_change_url, "--state-change-url")
    reports = run_verification(
        chosen, kinds, broker=broker, base_url=base_url, state_change_url=state_change_url,
        target=target, base_port=base_port, start=start, headers=extra,
        publish_version=provider_version if publish else None,
    )  # fmt: skip
    _finish(reports, junit, json_out)


def _finish(reports: list[Any], junit: Path | None, json_out: Path | None) -> None:
    from golive.cli._verify_run import print_reports, write_junit_report

    print_reports(reports)
    try:
        if junit is not None:
            junit.parent.mkdir(parents=True, exist_ok=True)
            write_junit_report(reports, junit)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            data = [r.to_json() for r in reports]
            json_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"cannot write the report: {exc.strerror or exc}") from None
    results = [i for r in reports for i in r.interactions]
    failed = [i for i in results if not i.ok and not i.pending]
    errors = [e for r in reports for e in r.errors]
    if failed or errors:
        what = [f"{len(failed)} of {len(results)} interaction(s) failed"] if failed else []
        raise CheckFailed("; ".join([*what, *errors]))
    from golive.render import console

    pending = sum(1 for i in results if not i.ok)
    note = f" ({pending} pending failure(s) do not count)" if pending else ""
    console.print(f"{len(results)} interaction(s) verified{note}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
