"""``golive contracts verify`` as library code: run the Pact verifier for one provider.

Pacts come from a folder (``contracts/pacts/`` by default) or from a Pact Broker
(selectors, pending and WIP pacts, publication of results: the verifier's own
broker support). Against a simulator, provider states are set through its
``/_sim/provider-states`` (``_pact_sim.StateRelay``) and messages are its real
events (``_pact_sim.EventProducer``); against staging, states go to the team's
state-change URL. docs/contracts.md says how to use it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contracts._pact_results import InteractionResult, interaction_results, run_errors
from contracts._pact_sim import EventProducer, MessageKind, StateRelay
from lifecycle.systems import SYSTEMS

__all__ = ["BrokerOptions", "PactFiles", "ProviderReport", "ProviderRun",
           "SetupProblem", "broker_message_kinds", "check_selector", "iter_broker_pacts",
           "message_kinds_of", "read_pacts", "system_of", "verify_provider"]  # fmt: skip

# Consumer version selector keys (Pact Broker docs) -> BrokerSelectorBuilder.consumer_version.
_SELECTOR_KEYS = {
    "consumer": "consumer", "tag": "tag", "fallbackTag": "fallback_tag", "latest": "latest",
    "deployedOrReleased": "deployed_or_released", "deployed": "deployed",
    "released": "released", "environment": "environment", "mainBranch": "main_branch",
    "branch": "branch", "matchingBranch": "matching_branch", "fallbackBranch": "fallback_branch",
}  # fmt: skip


@dataclass
class PactFiles:
    """The pact files of a folder, by provider, and what their message interactions are."""

    by_provider: dict[str, list[Path]] = field(default_factory=dict)
    message_kinds: dict[str, MessageKind] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # files that are not pacts


def message_kinds_of(pact: Mapping[str, Any]) -> dict[str, MessageKind]:
    """description -> (system, event_type) of the message interactions of one pact (V3, V4)."""
    found: dict[str, MessageKind] = {}
    for item in [*(pact.get("interactions") or []), *(pact.get("messages") or [])]:
        if not isinstance(item, dict):
            continue
        is_message = "messages" in pact or str(item.get("type", "")).startswith("Asynchronous")
        if not is_message:
            continue
        contents = item.get("contents") if isinstance(item.get("contents"), dict) else {}
        meta = {**(item.get("metadata") or {}), **((contents or {}).get("metadata") or {})}
        system, event_type = meta.get("system"), meta.get("event_type")
        if isinstance(system, str) and isinstance(event_type, str):
            found[str(item.get("description", ""))] = (system, event_type)
    return found


def read_pacts(folder: Path) -> PactFiles:
    """Every ``*.json`` pact under ``folder``; a file that is not a pact is a problem."""
    out = PactFiles()
    for path in sorted(folder.rglob("*.json")):
        try:
            pact = json.loads(path.read_text(encoding="utf-8"))
            provider = str(pact["provider"]["name"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            out.problems.append(f"{path}: not a pact file ({type(exc).__name__}: {exc})")
            continue
        out.by_provider.setdefault(provider, []).append(path)
        out.message_kinds.update(message_kinds_of(pact))
    return out


def system_of(provider: str) -> str | None:
    """The golive system a pact's provider name means: ``crm``, or ``crm`` within a name."""
    if provider in SYSTEMS:
        return provider
    hits = [t for t in re.split(r"[^a-z0-9]+", provider.lower()) if t in SYSTEMS]
    return hits[0] if len(set(hits)) == 1 else None


@dataclass
class BrokerOptions:
    """Where pacts come from when they come from a broker (credentials: PACT_BROKER_*)."""

    url: str
    selectors: list[dict[str, Any]] = field(default_factory=list)
    enable_pending: bool = False
    include_wip_since: date | None = None
    provider_branch: str | None = None


@dataclass
class ProviderRun:
    """One verification: a provider, where it answers, where its pacts and states are."""

    provider: str
    base_url: str
    simulator: bool  # states through /_sim/provider-states, messages from /events
    token: str | None = None  # bearer token for the provider's API and event feed
    headers: dict[str, str] = field(default_factory=dict)
    admin_headers: dict[str, str] = field(default_factory=dict)
    state_change_url: str | None = None  # staging: the team's state-change endpoint
    pacts: list[Path] = field(default_factory=list)
    broker: BrokerOptions | None = None
    message_kinds: dict[str, MessageKind] = field(default_factory=dict)
    publish_version: str | None = None


@dataclass
class ProviderReport:
    provider: str
    interactions: list[InteractionResult]
    errors: list[str]
    output: str
    warnings: list[str] = field(default_factory=list)  # e.g. a publication the broker refused

    @property
    def ok(self) -> bool:
        return not self.errors and all(i.ok or i.pending for i in self.interactions)

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "ok": self.ok, "errors": self.errors,
                "warnings": self.warnings,
                "interactions": [i.to_json() for i in self.interactions]}  # fmt: skip


def _selector_builder(verifier: Any, broker: BrokerOptions) -> Any:
    builder = verifier.broker_source(broker.url, selector=True)
    for selector in broker.selectors:
        builder.consumer_version(**{_SELECTOR_KEYS[k]: v for k, v in selector.items()})
    if broker.enable_pending:
        builder.include_pending()
    if broker.include_wip_since is not None:
        builder.include_wip_since(broker.include_wip_since)
    if broker.provider_branch:
        builder.provider_branch(broker.provider_branch)
    return builder.build()


def check_selector(selector: Any) -> dict[str, Any]:
    """A consumer version selector as JSON gives it; ValueError names what is wrong."""
    if not isinstance(selector, dict) or not selector:
        raise ValueError('a consumer version selector is a JSON object, e.g. {"mainBranch": true}')
    unknown = sorted(set(selector) - set(_SELECTOR_KEYS))
    if unknown:
        raise ValueError(f"unknown selector key(s) {unknown}; known: {', '.join(_SELECTOR_KEYS)}")
    return selector


def _attach(results: list[InteractionResult], relay: StateRelay | None,
            producer: EventProducer | None) -> None:  # fmt: skip
    """Say why a state or a message could not be made, on the interactions it broke."""
    for r in results:
        if r.ok:
            continue
        extra = [relay.errors[s] for s in r.states if relay and s in relay.errors]
        if producer and r.description in producer.errors:
            # No message was made: the verifier's comparisons of nothing add only noise.
            r.problems = [*extra, producer.errors[r.description]]
            continue
        r.problems = [*extra, *[p for p in r.problems if p not in extra]]


def _tail(output: str, n: int = 3) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return " / ".join(lines[-n:])


class _ErrorLog(logging.Handler):
    """The verifier core's ERROR events (it logs a refused publication, and goes on)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _captured_fds() -> Iterator[list[str]]:
    """Hold what the verifier's core and its helper servers print (their own report on
    stdout, request logs on stderr): the report is read back from ``Verifier.output``."""
    sys.stdout.flush()
    sys.stderr.flush()
    held: list[str] = []
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            # Python's own streams too, where they are not the file descriptors (captured).
            with redirect_stdout(sink), redirect_stderr(sink):
                yield held
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            held.append(sink.read())


class SetupProblem(Exception):
    """The verification could not start (a simulator refused its reset, say): one line."""


def verify_provider(run: ProviderRun) -> ProviderReport:
    """Run the Pact verifier for ``run``; a failed interaction is in the report, not raised.

    Raises ``SetupProblem`` when the run cannot start.
    """
    import httpx
    from pact import Verifier

    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")  # no usage report from CI runs
    host = urlsplit(run.base_url).hostname or "127.0.0.1"
    verifier = Verifier(run.provider, host=host).add_transport(url=run.base_url)
    headers = dict(run.headers)
    if run.token and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = f"Bearer {run.token}"
    if headers:
        verifier.add_custom_headers(headers)
    verifier.set_coloured_output(enabled=False)
    with ExitStack() as stack:
        relay: StateRelay | None = None
        producer: EventProducer | None = None
        if run.simulator:
            relay = stack.enter_context(StateRelay(run.base_url, run.admin_headers))
            try:
                relay.reset()
            except (ValueError, httpx.HTTPError) as exc:
                raise SetupProblem(f"{run.provider}: cannot empty the simulator: {exc}") from None
            verifier.state_handler(relay.url, teardown=True, body=True)
        elif run.state_change_url:
            verifier.state_handler(run.state_change_url, teardown=True, body=True)
        producer = EventProducer(run.base_url, headers, run.message_kinds)
        verifier.message_handler(producer)
        if run.broker is not None:
            _selector_builder(verifier, run.broker)
        for path in run.pacts:
            verifier.add_source(path)
        if run.publish_version:
            verifier.set_publish_options(
                run.publish_version, branch=run.broker.provider_branch if run.broker else None
            )
        errors: list[str] = []
        printed = stack.enter_context(_captured_fds())
        core_log, errors_seen = logging.getLogger("pact.ffi"), _ErrorLog()
        core_log.addHandler(errors_seen)
        try:
            verifier.verify()
        except RuntimeError as exc:
            errors.append(str(exc))
        finally:
            core_log.removeHandler(errors_seen)
        output = verifier.output(strip_ansi=True)
        raw = verifier.results
        results = interaction_results(raw)
        _attach(results, relay, producer)
    if results:
        # The verifier's exception only says the run failed: the results say why, and a
        # pending failure, which it also counts, is not one.
        errors = run_errors(raw)
    else:
        said = _tail(output) or _tail("".join(printed)) or "; ".join(errors)
        errors = [f"no interaction verified for {run.provider}: {said}"]
    warnings = [m for m in errors_seen.messages if "publish" in m.lower()]
    return ProviderReport(run.provider, results, errors, output, warnings)


def iter_broker_pacts(broker: BrokerOptions, provider: str) -> Iterator[dict[str, Any]]:
    """The pacts the broker selects for ``provider`` (for their message metadata only)."""
    import httpx

    auth: Any = None
    headers = {"Accept": "application/hal+json"}
    if os.environ.get("PACT_BROKER_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['PACT_BROKER_TOKEN']}"
    elif os.environ.get("PACT_BROKER_USERNAME"):
        auth = (os.environ["PACT_BROKER_USERNAME"], os.environ.get("PACT_BROKER_PASSWORD", ""))
    with httpx.Client(headers=headers, auth=auth, timeout=30) as client:
        index = client.get(broker.url.rstrip("/") + "/").json()
        link = index["_links"]["pb:provider-pacts-for-verification"]["href"]
        body: dict[str, Any] = {"consumerVersionSelectors": broker.selectors,
                                "includePendingStatus": broker.enable_pending}  # fmt: skip
        if broker.include_wip_since is not None:
            body["includeWipPactsSince"] = broker.include_wip_since.isoformat()
        if broker.provider_branch:
            body["providerVersionBranch"] = broker.provider_branch
        found = client.post(link.replace("{provider}", provider), json=body).json()
        for pact in found.get("_embedded", {}).get("pacts", []):
            yield client.get(pact["_links"]["self"]["href"]).json()


def broker_message_kinds(broker: BrokerOptions, provider: str) -> dict[str, MessageKind]:
    """description -> (system, event_type) of the message interactions the broker selects.

    The verifier's message request names only the description, so the producer needs
    the interactions' metadata; the verifier itself fetches the pacts it verifies.
    """
    kinds: dict[str, MessageKind] = {}
    for pact in iter_broker_pacts(broker, provider):
        kinds.update(message_kinds_of(pact))
    return kinds
