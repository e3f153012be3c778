"""Runs of the reference middleware's own flows against Pact mock servers, one per provider.

Each scenario declares the interactions its run makes, serves one mock server per
provider, points the middleware's ``Settings.urls`` at them, runs the flow of one event
(``flows.handle``, the code the worker pool runs) and checks the outcome. A mock server
refuses a request no interaction describes and, on exit, any interaction the run did
not make: so the pacts record what the middleware really sends. ``write_pacts`` runs
them all and writes one V4 pact per consumer-provider pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pact import Pact

from examples.reference_middleware.clients import Systems
from examples.reference_middleware.flows import Parked, handle
from examples.reference_middleware.resilience import Permanent, Transient
from examples.reference_middleware.settings import Settings
from examples.reference_middleware.store import Job
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.contracts.pact_consumer import interactions as erp_crm_cpq
from tests.contracts.pact_consumer import interactions_saas as saas
from tests.contracts.pact_consumer.events import EVENT_DATA, plain
from tests.contracts.pact_consumer.examples import CONSUMER, OPPORTUNITY
from tests.contracts.pact_consumer.http_calls import EVENT_ID, token

__all__ = ["SCENARIOS", "Scenario", "free_port", "run_scenario"]

Builder = Callable[[Pact], None]
_PORTS = range(25000, 26000)  # the ports this project's helpers may use


def free_port(start: int = 25100) -> int:
    """A free 127.0.0.1 port in 25000-25999, searched upwards from ``start``."""
    for port in [*range(start, _PORTS.stop), *range(_PORTS.start, start)]:
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", port))
            return port
    raise RuntimeError("no free port in 25000-25999")


@dataclass(frozen=True)
class Scenario:
    name: str
    system: str  # the event's system and type: the flow that runs
    event_type: str
    calls: dict[str, list[Builder]]  # provider -> interactions, in the order they are made
    expect: type[Exception] | None = None  # the flow's outcome: None = completes
    code: str = ""  # Permanent: its problem code
    tuning: dict[str, Any] = field(default_factory=dict)
    # After this call fails, the provider's calls go to a second mock server (see below).
    then: dict[str, list[Builder]] = field(default_factory=dict)

    def wrong(self, outcome: Exception | None) -> str | None:
        """Why ``outcome`` is not what this scenario expects, or None."""
        if self.expect is None:
            return None if outcome is None else f"{self.name}: expected success, got {outcome!r}"
        if not isinstance(outcome, self.expect):
            return f"{self.name}: expected {self.expect.__name__}, got {outcome!r}"
        if isinstance(outcome, Permanent) and outcome.code != self.code:
            return f"{self.name}: expected the code {self.code!r}, got {outcome.code!r}"
        if isinstance(outcome, Transient) and outcome.retry_after_s is None:
            return f"{self.name}: the Retry-After header was not honoured"
        return None


def _job(system: str, event_type: str) -> Job:
    event = {"id": EVENT_ID, "type": event_type, "system": system,
             "data": plain(EVENT_DATA[(system, event_type)]), "correlation_id": None}  # fmt: skip
    corr = OPPORTUNITY if event_type.startswith("opportunity.") else None
    return Job(EVENT_ID, system, event_type, event, corr, 0, time.time())


def _second_server(systems: Systems, provider: str, url: str) -> None:
    """Send ``provider``'s calls to ``url`` once a POST to it was refused.

    A mock server answers one request one way; an upsert that loses a race reads the
    same lookup twice (empty, then the winner), so the second read goes to a second
    mock server holding the "found" interaction. Only the URL changes: the calls are
    the middleware's own.
    """
    real = systems.call

    async def call(system: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await real(system, method, path, **kwargs)
        except Permanent:
            if system == provider and method == "POST":
                systems.settings.urls[provider] = url
            raise

    systems.call = call  # type: ignore[method-assign]


def run_scenario(
    scenario: Scenario, directory: Path | None, job: Job | None = None
) -> Exception | None:
    """Run one scenario (on ``job``, default its example event); the flow's error.

    Its interactions are written into ``directory`` (merged with what is there), unless None.
    """
    pacts = {p: _pact(p, calls) for p, calls in scenario.calls.items()}
    seconds = {p: _pact(p, calls, token_first=False) for p, calls in scenario.then.items()}
    outcome: Exception | None = None
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        port = _PORTS.start + 100
        for key, pact in [*pacts.items(), *((f"{p}+", s) for p, s in seconds.items())]:
            port = free_port(port + 1)
            server = stack.enter_context(pact.serve(addr="127.0.0.1", port=port))
            urls[key] = str(server.url).rstrip("/")
        tuning = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, **scenario.tuning}
        settings = Settings(
            urls={p: urls[p] for p in pacts},
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            webhook_secret="whsec_cGFjdA==",
            **tuning,
        )
        job = job or _job(scenario.system, scenario.event_type)
        outcome = asyncio.run(_run(settings, job, {p: urls[f"{p}+"] for p in seconds}))
    for pact in [*pacts.values(), *seconds.values()] if directory is not None else []:
        pact.write_file(directory, overwrite=False)
    return outcome


def _pact(provider: str, calls: list[Builder], *, token_first: bool = True) -> Pact:
    pact = Pact(CONSUMER, provider)
    for build in [token, *calls] if token_first else calls:
        build(pact)
    return pact


async def _run(settings: Settings, job: Job, seconds: dict[str, str]) -> Exception | None:
    systems = Systems(settings)
    for provider, url in seconds.items():
        _second_server(systems, provider, url)
    try:
        await handle(systems, job)
    except Exception as exc:  # the outcome the scenario expects, or not
        return exc
    finally:
        await systems.close()
    return None


# -- the scenarios -----------------------------------------------------------------------------

e, s = erp_crm_cpq, saas
_NEW_DEAL_UPTO_ORDER: dict[str, list[Builder]] = {
    "cpq": [e.cpq_quote_accepted],
    "crm": [e.crm_account],
    "erp": [e.erp_customer_none, e.erp_customer_new, e.erp_order_none],
    "billing": [s.billing_customer_none, s.billing_customer_new],
    "support": [s.support_organization_none, s.support_organization_new],
}
_WON = ("crm", "opportunity.closed_won")

SCENARIOS: list[Scenario] = [
    Scenario("a won deal, new in every system", *_WON, {
        **_NEW_DEAL_UPTO_ORDER,
        "erp": [*_NEW_DEAL_UPTO_ORDER["erp"], e.erp_order_new],
        "billing": [*_NEW_DEAL_UPTO_ORDER["billing"], s.billing_subscription_none,
                    s.billing_subscription_new],
        "support": [*_NEW_DEAL_UPTO_ORDER["support"], s.support_entitlement_none,
                    s.support_entitlement_new],
    }),
    Scenario("a won deal delivered again: everything exists", *_WON, {
        "cpq": [e.cpq_quote_accepted], "crm": [e.crm_account],
        "erp": [e.erp_customer_found, e.erp_order_found],
        "billing": [s.billing_customer_found, s.billing_subscription_found],
        "support": [s.support_organization_found, s.support_entitlement_found],
    }),
    Scenario("a won deal whose ERP customer another process made first", *_WON, {
        **_NEW_DEAL_UPTO_ORDER, "erp": [e.erp_customer_none, e.erp_customer_duplicate],
        "billing": [*_NEW_DEAL_UPTO_ORDER["billing"], s.billing_subscription_none,
                    s.billing_subscription_new],
        "support": [*_NEW_DEAL_UPTO_ORDER["support"], s.support_entitlement_none,
                    s.support_entitlement_new],
    }, then={"erp": [e.erp_customer_found, e.erp_order_none, e.erp_order_new]}),
    Scenario("a won deal beyond the customer's ERP credit limit", *_WON, {
        **_NEW_DEAL_UPTO_ORDER, "erp": [*_NEW_DEAL_UPTO_ORDER["erp"], e.erp_order_credit_limit],
    }, expect=Permanent, code="credit_limit_exceeded"),
    Scenario("a won deal whose quote is not accepted yet", *_WON,
             {"cpq": [e.cpq_quote_approved]}, expect=Parked),
    Scenario("a won deal while CPQ rate limits", *_WON, {"cpq": [e.cpq_quote_rate_limited]},
             expect=Transient, tuning={"http_attempts": 1}),
    Scenario("a finalized invoice of a deal with an ERP order", "billing", "invoice.finalized", {
        "billing": [s.billing_subscription_read],
        "erp": [e.erp_order_found, e.erp_ar_invoice_none, e.erp_ar_invoice_new],
    }),
    Scenario("a finalized invoice before its deal's ERP order", "billing", "invoice.finalized", {
        "billing": [s.billing_subscription_read], "erp": [e.erp_order_none],
    }, expect=Parked),
    Scenario("a successful payment of a posted invoice", "billing", "payment.succeeded", {
        "erp": [e.erp_ar_invoice_found, e.erp_receipt_none, e.erp_receipt_new],
    }),
    Scenario("a payment before its invoice's AR invoice", "billing", "payment.succeeded", {
        "erp": [e.erp_ar_invoice_missing],
    }, expect=Parked),
    Scenario("a canceled subscription before its entitlement exists", "billing",
             "subscription.canceled", {"support": [s.support_entitlement_none]}, expect=Parked),
    Scenario("a canceled subscription", "billing", "subscription.canceled", {
        "support": [s.support_entitlement_found, s.support_entitlement_suspend],
    }),
    Scenario("a renewed subscription", "billing", "subscription.renewed", {
        "support": [s.support_entitlement_found, s.support_entitlement_extend],
    }),
]  # fmt: skip
