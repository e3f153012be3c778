"""``golive fault add|list|clear``: fault rules on running simulators (docs/faults.md).

Only cheap imports at the top: httpx and the vocabulary load inside the commands.
"""

from __future__ import annotations

from typing import Any

import typer

from golive.errors import UsageProblem

__all__ = ["register"]

fault_app = typer.Typer(
    help="Break running simulators on purpose: add, list and clear fault rules.\n\n"
    "Example: golive fault add outage --system erp --for 30m",
    no_args_is_help=True,
)

_SYSTEM_HELP = "crm, cpq, billing, support or erp."
_KINDS_HELP = (
    "Wire: latency, error, rate_limit, outage, drop, lost_response, slow_body; "
    "webhook deliveries: duplicate, reorder, delay, webhook_down."
)
_TARGET = typer.Option("local", "--target", help="A target of golive.toml.")
_BASE_PORT = typer.Option(
    None, "--base-port", min=1, max=65531, help="Port of the first simulator (golive up's)."
)
# Options that set params, the kinds they apply to, and the param each one sets.
_PARAM_OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "--fixed": (("latency",), "fixed_ms"),
    "--min": (("latency",), "min_ms"),
    "--max": (("latency",), "max_ms"),
    "--p50": (("latency",), "p50_ms"),
    "--p99": (("latency",), "p99_ms"),
    "--extra": (("slow_body",), "extra_ms"),
    "--status": (("error",), "status"),
    "--code": (("error",), "code"),
    "--rps": (("rate_limit",), "requests_per_s"),
    "--burst": (("rate_limit",), "burst"),
    "--retry-after": (("outage",), "retry_after_s"),
    "--mode": (("lost_response",), "mode"),
    "--delay": (("delay",), "delay_s"),
}
_MS_PARAMS = {"fixed_ms", "min_ms", "max_ms", "p50_ms", "p99_ms", "extra_ms"}
_S_PARAMS = {"retry_after_s", "delay_s"}


def _seconds(option: str, text: str) -> float:
    from golive.faults import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageProblem(f"{option}: {exc}") from None


def _params(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for option, value in given.items():
        if value is None:
            continue
        kinds, param = _PARAM_OPTIONS[option]
        if kind not in kinds:
            raise UsageProblem(f"{option} applies to kind {' or '.join(kinds)}, not {kind}")
        if param in _MS_PARAMS:
            value = round(_seconds(option, value) * 1000, 3)
        elif param in _S_PARAMS:
            value = _seconds(option, value)
        params[param] = value
    return params


def _client(target: str, base_port: int | None) -> Any:
    from golive.config import load_config
    from golive.faults import FaultClient, admin_headers

    return FaultClient(load_config().target(target, base_port), admin_headers())


def _systems(system: str | None) -> list[str]:
    from lifecycle.systems import SYSTEMS

    if system is None:
        return list(SYSTEMS)
    if system not in SYSTEMS:
        raise UsageProblem(f"--system: unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
    return [system]


def _each_system(system: str | None, client: Any, call: Any) -> list[Any]:
    """``call(name)`` for the chosen system, or for every system that answers.

    Without ``--system``, simulators the target does not run are named in a note;
    an error only when none answers.
    """
    from golive.faults import Unreachable
    from golive.render import err_console

    names = _systems(system)
    results, missing = [], []
    for name in names:
        try:
            results.append(call(name))
        except Unreachable:
            if system is not None:
                raise
            missing.append(name)
    if missing and len(missing) == len(names):
        urls = ", ".join(client.urls[n] for n in names)
        raise UsageProblem(f"no simulator answers at {urls}; is `golive up` running?")
    if missing:
        err_console.print(f"golive: not running: {', '.join(missing)}", markup=False)
    return results


def _window(rule: dict[str, Any]) -> str:
    window = rule.get("window") or {}
    start, end = window.get("start"), window.get("end")
    if start is None and end is None:
        return "until removed"
    return f"{start or 'now'} .. {end or 'removed'}"


def _rows(system: str, rules: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for r in rules:
        match = " ".join(f"{k}={v}" for k, v in r["match"].items()) or "every request"
        params = " ".join(f"{k}={v}" for k, v in r["params"].items()) or "-"
        fired = f"{r['fired']}/{r['count']}" if r["count"] is not None else str(r["fired"])
        rows.append([system, r["id"], r["kind"], match, params, f"{r['probability']:g}",
                     _window(r), fired, "yes" if r["active"] else "no"])  # fmt: skip
    return rows


@fault_app.command("add")
def add(
    kind: str = typer.Argument(..., help=_KINDS_HELP),
    system: str = typer.Option(..., "--system", help=_SYSTEM_HELP),
    path: str | None = typer.Option(
        None, "--path", help="Route template or glob: /sales-orders/{id}, '/sales-orders/*'."
    ),
    method: str | None = typer.Option(None, "--method", help="Only this HTTP method."),
    client_id: str | None = typer.Option(None, "--client-id", help="Only this API client."),
    probability: float | None = typer.Option(
        None, "--probability", min=0.0, max=1.0, help="Share of matching requests (default 1)."
    ),
    for_: str | None = typer.Option(None, "--for", help="How long, on the simulator's clock: 30m."),
    start: str | None = typer.Option(None, "--start", help="Window start, ISO 8601 (UTC)."),
    end: str | None = typer.Option(None, "--end", help="Window end, ISO 8601 (UTC)."),
    count: int | None = typer.Option(None, "--count", min=1, help="Fire at most this often."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Seed of the rule's draws."),
    fixed: str | None = typer.Option(None, "--fixed", help="latency: a fixed delay (300ms)."),
    min_: str | None = typer.Option(None, "--min", help="latency: uniform from --min ..."),
    max_: str | None = typer.Option(None, "--max", help="latency: ... to --max."),
    p50: str | None = typer.Option(None, "--p50", help="latency: lognormal median (200ms)."),
    p99: str | None = typer.Option(None, "--p99", help="latency: lognormal 99th percentile."),
    extra: str | None = typer.Option(None, "--extra", help="slow_body: body spread over (2s)."),
    status: int | None = typer.Option(None, "--status", min=400, max=599, help="error: status."),
    code: str | None = typer.Option(None, "--code", help="error: the problem's code."),
    rps: float | None = typer.Option(None, "--rps", help="rate_limit: requests per second."),
    burst: int | None = typer.Option(None, "--burst", min=1, help="rate_limit: bucket size."),
    retry_after: str | None = typer.Option(None, "--retry-after", help="outage: Retry-After."),
    mode: str | None = typer.Option(None, "--mode", help="lost_response: error or timeout."),
    delay: str | None = typer.Option(None, "--delay", help="delay: simulated time (10m)."),
    target: str = _TARGET,
    base_port: int | None = _BASE_PORT,
) -> None:
    """Add a fault rule to one simulator; prints the rule's id.

    Examples:
      golive fault add outage --system erp --for 30m
      golive fault add latency --system erp --p50 200ms --p99 2s
      golive fault add error --system erp --status 500 --code boom --probability 0.2
      golive fault add lost_response --system erp --method POST --path '/sales-orders' --count 1
      golive fault add webhook_down --system billing --for 2h
      golive fault add duplicate --system crm --probability 0.1 --path '/webhooks/*'
    """
    from golive.faults import rule_for
    from golive.render import console, table

    [name] = _systems(system)
    given = {"--fixed": fixed, "--min": min_, "--max": max_, "--p50": p50, "--p99": p99,
             "--extra": extra, "--status": status, "--code": code, "--rps": rps,
             "--burst": burst, "--retry-after": retry_after, "--mode": mode,
             "--delay": delay}  # fmt: skip
    try:
        rule = rule_for(
            kind, method=method, path=path, client_id=client_id, probability=probability,
            params=_params(kind, given), start=start, end=end, count=count, seed=seed,
            duration_s=_seconds("--for", for_) if for_ is not None else None,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    with _client(target, base_port) as client:
        added = client.add(name, rule)
    table(f"Fault rule added to {name}", _HEAD, _rows(name, [added]), keys=2)
    console.print(f"remove it with: golive fault clear --system {name} --id {added['id']}")


_HEAD = ["system", "id", "kind", "match", "params", "probability", "window", "fired", "active"]


@fault_app.command("list")
def list_(
    system: str | None = typer.Option(None, "--system", help=_SYSTEM_HELP + " Default: all."),
    target: str = _TARGET,
    base_port: int | None = _BASE_PORT,
) -> None:
    """The fault rules of one simulator, or of every one, with how often each fired.

    Example: golive fault list --system erp
    """
    from golive.render import table

    rows: list[list[str]] = []
    with _client(target, base_port) as client:
        for found in _each_system(system, client, lambda n: _rows(n, client.list(n))):
            rows += found
    table(f"Fault rules ({target})", _HEAD, rows, keys=2)


@fault_app.command("clear")
def clear(
    system: str | None = typer.Option(None, "--system", help=_SYSTEM_HELP + " Default: all."),
    rule_id: str | None = typer.Option(None, "--id", help="Only this rule (needs --system)."),
    target: str = _TARGET,
    base_port: int | None = _BASE_PORT,
) -> None:
    """Remove one fault rule, or every rule of one simulator or of all of them.

    Examples:
      golive fault clear --system erp --id flt_000001
      golive fault clear
    """
    from golive.render import console

    if rule_id is not None and system is None:
        raise UsageProblem("--id needs --system (rule ids are per simulator)")
    with _client(target, base_port) as client:
        removed = sum(_each_system(system, client, lambda n: client.clear(n, rule_id)))
    console.print(f"removed {removed} fault rule{'s' if removed != 1 else ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(fault_app, name="fault")
