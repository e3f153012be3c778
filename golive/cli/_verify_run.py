"""The work behind ``golive contracts verify``: where each provider answers, the runs, output.

A provider of the pacts is a golive system (``crm``, or a name holding one, such as
``golive-crm``). Without ``--base-url`` its URL is the target's (golive.toml); when
nothing answers at a simulated target, the needed simulators start in this process
for the run, on free loopback ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from golive.errors import UsageProblem

__all__ = ["print_reports", "run_verification", "write_junit_report"]


def _answers(url: str) -> bool:
    import httpx

    try:
        httpx.get(f"{url}/_sim/health", timeout=3)
    except httpx.HTTPError:
        return False
    return True


def _systems(providers: Mapping[str, Any]) -> dict[str, str]:
    from contracts.verify import system_of
    from lifecycle.systems import SYSTEMS

    out = {}
    for provider in providers:
        system = system_of(provider)
        if system is None:
            raise UsageProblem(
                f"provider {provider!r} is not a golive system ({', '.join(SYSTEMS)}); "
                "verify it against its own deployment with --base-url"
            )
        out[provider] = system
    return out


def _token(url: str, credentials: tuple[str, str]) -> str:
    from contracts._pact_sim import fetch_token

    try:
        return fetch_token(url, *credentials)
    except ValueError as exc:
        raise UsageProblem(f"token: {exc}") from None


def run_verification(
    providers: Mapping[str, list[Path]],
    kinds: Mapping[str, Any],
    *,
    broker: Any,
    base_url: str | None,
    state_change_url: str | None,
    target: str,
    base_port: int | None,
    start: bool,
    headers: dict[str, str],
    publish_version: str | None,
) -> list[Any]:
    """Verify each provider; the reports in the providers' order."""
    from contracts.verify import ProviderRun, SetupProblem, verify_provider
    from golive.config import load_config
    from golive.dataload import control_headers

    cfg = load_config()
    credentials = cfg.credentials(target)
    has_auth = any(k.lower() == "authorization" for k in headers)
    runs: list[ProviderRun] = []
    estate = None
    try:
        if base_url is not None:
            url = base_url.rstrip("/")
            token = None if has_auth else _token(url, credentials)
            runs = [ProviderRun(p, url, simulator=False, token=token, headers=headers,
                                state_change_url=state_change_url) for p in providers]  # fmt: skip
        else:
            systems = _systems(providers)
            urls = cfg.target(target, base_port)
            simulated = cfg.target_spec(target).simulated
            admin = control_headers()
            if simulated and state_change_url is not None:
                raise UsageProblem("--state-change-url is for staging (--base-url or a staging "
                                   "--target); the simulators take states themselves")  # fmt: skip
            missing = sorted({s for s in systems.values() if not _answers(urls[s])})
            if missing:
                if not (start and simulated):
                    raise UsageProblem(
                        f"nothing answers at {urls[missing[0]]} ({missing[0]}, target {target!r})"
                    )
                estate = _start(missing, base_port)
                urls = {**urls, **estate.urls}
                admin = estate.admin_headers or admin
            for provider, system in systems.items():
                url = urls[system]
                token = None if has_auth else _token(url, credentials)
                runs.append(ProviderRun(provider, url, simulator=simulated, token=token,
                                        headers=headers, admin_headers=admin,
                                        state_change_url=state_change_url))  # fmt: skip
        if runs and not runs[0].simulator and state_change_url is None:
            from golive.render import err_console

            err_console.print("no --state-change-url: the pacts' provider states are not set up",
                              markup=False, highlight=False)  # fmt: skip
        reports = []
        for run in runs:
            run.pacts = list(providers[run.provider])
            run.broker = broker
            run.publish_version = publish_version
            run.message_kinds = dict(kinds)
            if broker is not None:
                run.message_kinds.update(_broker_kinds(broker, run.provider))
            try:
                reports.append(verify_provider(run))
            except SetupProblem as exc:
                raise UsageProblem(str(exc)) from None
        return reports
    finally:
        if estate is not None:
            estate.stop()


def _broker_kinds(broker: Any, provider: str) -> dict[str, Any]:
    import httpx

    from contracts.verify import broker_message_kinds

    try:
        return broker_message_kinds(broker, provider)
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return {}  # the verifier reports the broker's problem itself, in its own words


def _start(systems: list[str], base_port: int | None) -> Any:
    from golive.render import err_console
    from simulators.estate import EstateError, start_estate

    try:
        estate = start_estate(systems, base_port=base_port)
    except EstateError as exc:
        raise UsageProblem(f"cannot start {', '.join(systems)}: {exc}") from None
    started = ", ".join(f"{s} at {estate.url(s)}" for s in systems)
    err_console.print(f"nothing answered; started {started}", markup=False, highlight=False)
    return estate


def print_reports(reports: list[Any]) -> None:
    from golive.render import console, err_console

    for report in reports:
        n = len(report.interactions)
        bad = sum(1 for i in report.interactions if not i.ok)
        console.print(f"\n{report.provider}: {n} interaction(s), {bad} failed",
                      markup=False, highlight=False, style="bold")  # fmt: skip
        for i in report.interactions:
            mark = "PASS" if i.ok else ("PENDING-FAIL" if i.pending else "FAIL")
            style = "green" if i.ok else ("yellow" if i.pending else "red")
            console.print(f"  {mark:<5} {i.consumer}: {i.name}", style=style,
                          markup=False, highlight=False)  # fmt: skip
            for problem in i.problems:
                console.print(f"        {i.description}: {problem}", markup=False,
                              highlight=False)  # fmt: skip
        for error in report.errors:
            console.print(f"  error: {error}", style="red", markup=False, highlight=False)
        for warning in report.warnings:
            err_console.print(f"warning: {report.provider}: {warning}", markup=False,
                              highlight=False)  # fmt: skip


def write_junit_report(reports: list[Any], path: Path) -> Path:
    from golive.report import JunitCase, write_junit

    cases = []
    for report in reports:
        for i in report.interactions:
            text = "\n".join(i.problems) or "failed"
            cases.append(JunitCase(
                name=i.name,
                classname=f"pact.{report.provider}.{i.consumer}",
                failure="" if i.ok else text,
                skipped=f"pending pact, failed: {text}" if i.pending and not i.ok else "",
                properties={"provider_states": "; ".join(i.states)},
            ))  # fmt: skip
        cases += [JunitCase(name="verification", classname=f"pact.{report.provider}",
                            failure=e) for e in report.errors]  # fmt: skip
    return write_junit(path, "golive contracts verify", cases)
