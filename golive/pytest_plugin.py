"""pytest plugin (entry point ``pytest11``): the simulated estate as fixtures.

``golive_estate`` starts the simulators once per session on free loopback ports
(state in memory, or on disk with ``golive_state_dir``);
``golive`` hands a test that estate emptied first (per-test reset); ``golive_client``
gives signed-in clients; ``golive_clock`` freezes and advances every simulator's
clock; ``golive_faults`` adds fault rules and removes them after the test;
``golive_reconcile`` ends a test with the reconciliation oracle's verdict.
Cheap to import: the simulators load only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from simulators.estate import Estate

__all__ = ["EstateClock", "EstateFaults", "EstateReconcile"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "golive_systems",
        "Comma-separated systems the golive_estate fixture starts (default: all five).",
        default="",
    )
    parser.addini(
        "golive_state_dir",
        "Folder where the golive_estate fixture keeps each simulator's state on disk "
        "(SQLite, one file per system); default: in memory.",
        default="",
    )
    parser.addoption(
        "--golive-state-dir",
        dest="golive_state_dir",
        default=None,
        help="golive: keep the simulators' state on disk in this folder (overrides the ini).",
    )


@pytest.fixture(scope="session")
def golive_estate(pytestconfig: pytest.Config) -> Iterator[Estate]:
    """The simulators, running for the whole session on free 127.0.0.1 ports (threads)."""
    from simulators.estate import EstateError, start_estate
    from simulators.registry import SYSTEMS

    wanted = [s.strip() for s in str(pytestconfig.getini("golive_systems")).split(",") if s.strip()]
    state_dir = (
        pytestconfig.getoption("golive_state_dir")
        or str(pytestconfig.getini("golive_state_dir")).strip()
    )
    try:
        estate = start_estate(wanted or SYSTEMS, state_dir=state_dir or None)
    except EstateError as exc:  # a state dir that is not a writable folder, or in use
        raise pytest.UsageError(f"golive_state_dir: {exc}") from None
    try:
        yield estate
    finally:
        estate.stop()


@pytest.fixture
def golive(golive_estate: Estate) -> Estate:
    """The running estate, emptied before the test (state, events, journal, keys, clock)."""
    golive_estate.reset()
    return golive_estate


@pytest.fixture
def golive_client(golive: Estate) -> Iterator[Callable[..., httpx.Client]]:
    """``golive_client("crm")`` is a signed-in httpx.Client, closed after the test."""
    opened: list[httpx.Client] = []

    def make(system: str, **kwargs: Any) -> httpx.Client:
        client = golive.client(system, **kwargs)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


class EstateClock:
    """Every simulator's clock at once: golive's estate clock (``golive.estateclock``).

    ``advance`` moves the estate in steps that settle, as ``golive clock advance`` does,
    and raises ``NotSettled`` (naming the step) when one does not settle in time.
    """

    def __init__(self, estate: Estate) -> None:
        self._estate = estate
        self._clock: Any = None

    def _lib(self) -> Any:
        if self._clock is None:
            from golive.estateclock import EstateClock as _Clock

            self._clock = _Clock(self._estate.urls, self._estate.admin_headers)
        return self._clock

    def show(self) -> dict[str, dict[str, Any]]:
        """Each system's clock: now, frozen, next_due_at, activity."""
        views: dict[str, dict[str, Any]] = self._lib().show()
        return views

    def freeze(self, at: datetime | str | None = None) -> None:
        """Stop every clock at ``at`` (a datetime or an ISO 8601 string), or now.

        A naive datetime, or a string without an offset, is taken as UTC.
        """
        self._lib().freeze(_instant(at) if at is not None else None)

    def advance(
        self, *, days: float = 0, hours: float = 0, seconds: float = 0, **options: Any
    ) -> Any:
        """Move every clock forward in settled steps; returns the ``AdvanceResult``.

        ``options`` are those of ``golive.estateclock.EstateClock.advance`` (``step_s``,
        ``quiet_s``, ``settle_limit_s``, ``jump``).
        """
        from golive.estateclock import NotSettled

        result = self._lib().advance(days=days, hours=hours, seconds=seconds, **options)
        if not result.ok:
            raise NotSettled(result)
        return result

    def resume(self) -> None:
        self._lib().resume()

    def close(self) -> None:
        if self._clock is not None:
            self._clock.close()
            self._clock = None


def _instant(at: datetime | str) -> str:
    """``at`` as the control plane's ISO 8601 UTC instant (``...Z``)."""
    if isinstance(at, str):
        try:
            parsed = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"golive_clock: {at!r} is not an ISO 8601 instant") from None
    elif isinstance(at, datetime):
        parsed = at
    else:
        raise TypeError(f"golive_clock: at must be a datetime or an ISO string, not {at!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def golive_clock(golive: Estate) -> Iterator[EstateClock]:
    """Freeze and advance the simulators' clocks (reset with the estate after each test)."""
    clock = EstateClock(golive)
    yield clock
    clock.close()


class EstateFaults:
    """Fault rules on the estate's simulators (docs/faults.md), removed after the test."""

    def __init__(self, estate: Estate) -> None:
        from golive.faults import FaultClient

        self._client = FaultClient(estate.urls, estate.admin_headers)
        self._added: list[tuple[str, str]] = []

    def add(
        self,
        system: str,
        kind: str,
        *,
        for_s: float | None = None,
        match: dict[str, str] | None = None,
        **rule: Any,
    ) -> dict[str, Any]:
        """Add a rule to ``system``; returns it as the simulator holds it (``id``, ...).

        ``match`` is the rule's ``{method, path, client_id}`` (each optional; those
        may be given as keywords too); ``rule`` takes the other keywords of
        ``golive.faults.rule_for``: ``probability``, ``params``, ``start``, ``end``,
        ``count``, ``seed``; ``for_s`` is the window's length from now on the
        simulator's clock. A refused rule raises ``golive.faults.FaultRefused`` with
        the simulator's reason.
        """
        from golive.faults import rule_for

        body = rule_for(kind, duration_s=for_s, **{**(match or {}), **rule})
        added = self._client.add(system, body)
        self._added.append((system, str(added["id"])))
        return added

    def list(self, system: str) -> list[dict[str, Any]]:
        """The rules of ``system``, each with how often it fired (``fired``)."""
        return self._client.list(system)

    def remove(self, system: str, rule_id: str) -> None:
        self._client.clear(system, rule_id)
        self._added = [a for a in self._added if a != (system, rule_id)]

    def clear(self, system: str | None = None) -> None:
        """Remove every rule of ``system``, or of every simulator of the estate."""
        for name in [system] if system else list(self._client.urls):
            self._client.clear(name)

    def _teardown(self) -> None:
        import contextlib

        from golive.faults import FaultRefused

        try:
            for system, rule_id in self._added:
                with contextlib.suppress(FaultRefused):  # removed already (test or reset)
                    self._client.clear(system, rule_id)
        finally:
            self._client.close()


@pytest.fixture
def golive_faults(golive: Estate) -> Iterator[EstateFaults]:
    """Add fault rules to the estate (``golive_faults.add("erp", "outage", for_s=60)``);
    each rule added is removed after the test."""
    faults = EstateFaults(golive)
    try:
        yield faults
    finally:
        faults._teardown()


class EstateReconcile:
    """The reconciliation oracle on the test's estate: ``golive_reconcile()`` returns the
    verdict, or raises AssertionError listing every violation (README, "Reconciliation")."""

    def __init__(self, estate: Estate) -> None:
        self._estate = estate

    def __call__(
        self, slos: dict[str, float] | None = None, *, check: bool = True
    ) -> Any:  # scenarios.oracle.Verdict, imported lazily
        """Judge the estate now. ``slos`` overrides ``[slos]`` of golive.toml (if any);
        ``check=False`` returns the verdict without asserting on it."""
        from golive.config import load_config
        from golive.reconcile import reconcile_target, slos_from_config

        cfg = load_config()
        table = {**cfg.slos, **(slos or {})}
        verdict = reconcile_target(self._estate.urls, slos_from_config(table),
                                   client_id=cfg.client_id, client_secret=cfg.client_secret,
                                   admin_headers=self._estate.admin_headers)  # fmt: skip
        if check and not verdict.ok:
            lines = [f"{v.invariant}: {v.message} (ids {', '.join(v.ids)}; correlation "
                     f"{v.correlation_id})" for v in verdict.violations]  # fmt: skip
            n = len(lines)
            raise AssertionError(
                f"reconciliation: {n} violation{'s' if n != 1 else ''}\n" + "\n".join(lines)
            )
        return verdict


@pytest.fixture
def golive_reconcile(golive: Estate) -> EstateReconcile:
    """``golive_reconcile()`` ends an integration test with the oracle's verdict: it raises
    AssertionError naming each broken invariant, its ids and correlation id."""
    return EstateReconcile(golive)
