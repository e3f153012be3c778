"""``golive.toml``: targets, the SUT, SLOs and presets. Everything is optional.

Secrets never live in the file: client credentials come from ``GOLIVE_CLIENT_ID`` and
``GOLIVE_CLIENT_SECRET`` (or ``GOLIVE_<TARGET>_CLIENT_ID`` / ``_CLIENT_SECRET`` for one
target); without them, the simulators' documented test client ``golive`` / ``golive-secret``.

Targets name where the five systems live::

    [targets]                     # the old flat form: overrides of the built-in `local`
    crm = "http://127.0.0.1:9101"

    [targets.sims2]               # simulators started with `golive up --base-port 9201`
    host = "127.0.0.1"
    base_port = 9201

    [targets.staging]             # one URL per system; owned = the team may load it
    crm = "https://crm.staging.example.com"
    cpq = "https://cpq.staging.example.com"
    billing = "https://billing.staging.example.com"
    support = "https://support.staging.example.com"
    erp = "https://erp.staging.example.com"
    owned = true
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.errors import UsageProblem
from lifecycle.limits import LIMIT_FIELDS, VENDOR_LIMITS, LimitSettings
from lifecycle.systems import SYSTEMS
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from simulators.loopback import is_loopback_url

__all__ = [
    "DEFAULT_BASE_PORT",
    "LOCAL_TARGET",
    "SYSTEMS",
    "Config",
    "TargetSpec",
    "default_targets",
    "load_config",
]

DEFAULT_BASE_PORT = 8101
DEFAULT_HOST = "127.0.0.1"
LOCAL_TARGET = "local"
_TARGET_KEYS = frozenset({"host", "base_port", "owned", *SYSTEMS})
# Top-level tables, and the keys of those golive reads key by key. [slos] and [faults]
# are free-form tables (read, not yet used by a command).
_TABLES = ("targets", "sut", "slos", "limits", "faults", "load")
_TABLE_KEYS = {"sut": ("url", "command"), "load": ("slos",)}


def default_targets(host: str = DEFAULT_HOST, base_port: int = DEFAULT_BASE_PORT) -> dict[str, str]:
    """Base URL per system for an estate started by ``golive up``."""
    return {name: f"http://{host}:{base_port + i}" for i, name in enumerate(SYSTEMS)}


@dataclass(frozen=True)
class TargetSpec:
    """One named target: simulators at ``host`` + ``base_port``, per-system URLs, or both.

    Per-system URLs win over the simulators' addresses for the systems they name, so a
    target can mix a staging CRM with simulated everything else.
    """

    name: str
    host: str | None = None
    base_port: int | None = None
    urls: dict[str, str] = field(default_factory=dict)
    owned: bool | None = None

    @property
    def is_owned(self) -> bool:
        """``owned`` as golive.toml says; otherwise true only if every system is on loopback."""
        if self.owned is not None:
            return self.owned
        return all(is_loopback_url(url) for url in self.resolve().values())

    @property
    def simulated(self) -> bool:
        """True when at least one system is addressed as a simulator (host + base port)."""
        return self.host is not None or self.base_port is not None

    def resolve(self, base_port: int | None = None) -> dict[str, str]:
        """System → base URL; ``base_port`` moves the simulated systems."""
        if self.simulated:
            port = base_port if base_port is not None else (self.base_port or DEFAULT_BASE_PORT)
            urls = default_targets(self.host or DEFAULT_HOST, port)
        else:
            if base_port is not None:
                raise UsageProblem(
                    f"--base-port applies to targets given by host and base_port; "
                    f"target {self.name!r} lists a URL per system"
                )
            urls = {}
        return {**urls, **self.urls}


@dataclass
class Config:
    """The loaded configuration.

    ``targets`` is the built-in ``local`` target (with the flat ``[targets]`` overrides);
    ``named_targets`` holds every target by name, ``local`` included.
    """

    targets: dict[str, str] = field(default_factory=default_targets)
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    sut_url: str | None = None
    sut_command: str | list[str] | None = None  # [sut] command: a shell line or an argv
    slos: dict[str, Any] = field(default_factory=dict)
    load_slos: dict[str, Any] = field(default_factory=dict)
    # Throttling per system for `golive up` ([limits]; docs/limits.md): only systems
    # with at least one limit are listed.
    limits: dict[str, LimitSettings] = field(default_factory=dict)
    raw_limits: dict[str, Any] = field(default_factory=dict)  # the [limits] table as written
    fault_presets: dict[str, Any] = field(default_factory=dict)
    named_targets: dict[str, TargetSpec] = field(default_factory=dict)
    source: Path | None = None

    def _spec(self, name: str) -> TargetSpec:
        if name == LOCAL_TARGET and LOCAL_TARGET not in self.named_targets:
            overrides = {s: u for s, u in self.targets.items() if u != default_targets()[s]}
            return TargetSpec(LOCAL_TARGET, DEFAULT_HOST, DEFAULT_BASE_PORT, overrides)
        spec = self.named_targets.get(name)
        if spec is None:
            known = ", ".join(self.target_names())
            where = f" in {self.source}" if self.source else " (no golive.toml here)"
            raise UsageProblem(f"unknown target {name!r}; targets{where}: {known}")
        return spec

    def target_names(self) -> list[str]:
        """Every target name, ``local`` first."""
        return [LOCAL_TARGET, *sorted(n for n in self.named_targets if n != LOCAL_TARGET)]

    def target(self, name: str = LOCAL_TARGET, base_port: int | None = None) -> dict[str, str]:
        """System → base URL of the target ``name``; ``base_port`` moves its simulators.

        Raises ``UsageProblem`` (one line) for a name golive.toml does not define.
        """
        return self._spec(name).resolve(base_port)

    def target_spec(self, name: str = LOCAL_TARGET) -> TargetSpec:
        """The target's definition (whether it is simulated, owned, ...)."""
        return self._spec(name)

    def target_owned(self, name: str = LOCAL_TARGET) -> bool:
        """True when the team owns the target: ``owned = true``, or every system on loopback.

        Only an owned target is sent load or has its state changed beyond seeding (its
        clock moved, for example).
        """
        return self._spec(name).is_owned

    def credentials(self, name: str = LOCAL_TARGET) -> tuple[str, str]:
        """(client id, client secret) for a target: per-target variables, then global ones."""
        self._spec(name)
        prefix = "GOLIVE_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
        client_id = os.environ.get(f"{prefix}_CLIENT_ID", self.client_id)
        client_secret = os.environ.get(f"{prefix}_CLIENT_SECRET", self.client_secret)
        return client_id, client_secret


def _check_url(file: Path, key: str, url: object) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UsageProblem(f"{file}: {key} must be an http(s) URL")
    return url.rstrip("/")


def _named_target(file: Path, name: str, table: dict[str, Any]) -> TargetSpec:
    where = f"targets.{name}"
    unknown = sorted(set(table) - _TARGET_KEYS)
    if unknown:
        raise UsageProblem(
            f"{file}: {where} has unknown key {unknown[0]!r} "
            f"(known: host, base_port, owned, {', '.join(SYSTEMS)})"
        )
    host = table.get("host")
    if host is not None and (not isinstance(host, str) or not host):
        raise UsageProblem(f"{file}: {where}.host must be a host name or address")
    base_port = table.get("base_port")
    if base_port is not None and (
        not isinstance(base_port, int) or isinstance(base_port, bool)
        or not 1 <= base_port <= 65535 - len(SYSTEMS)
    ):  # fmt: skip
        raise UsageProblem(f"{file}: {where}.base_port must be a port number")
    owned = table.get("owned")
    if owned is not None and not isinstance(owned, bool):
        raise UsageProblem(f"{file}: {where}.owned must be true or false")
    urls: dict[str, str] = {
        s: _check_url(file, f"{where}.{s}", table[s]) for s in SYSTEMS if s in table
    }
    if (host is None) != (base_port is None):
        have, need = ("host", "base_port") if base_port is None else ("base_port", "host")
        raise UsageProblem(
            f"{file}: {where} has {have} but no {need}: a simulated target needs both "
            f"(as `golive up --host H --base-port P` lays them out)"
        )
    spec = TargetSpec(name, host, base_port, urls, owned)
    if not spec.simulated and len(urls) < len(SYSTEMS):
        missing = ", ".join(s for s in SYSTEMS if s not in urls)
        raise UsageProblem(
            f"{file}: {where} needs host + base_port (simulators) or a URL for every system "
            f"(missing: {missing})"
        )
    return spec


def _check_keys(file: Path, raw: dict[str, Any]) -> None:
    """Refuse a table or key golive does not know: a typo must not fall back to defaults."""
    for table in raw:
        if table not in _TABLES:
            raise UsageProblem(
                f"{file}: unknown table or key {table!r} (known: {', '.join(_TABLES)})"
            )
    for table, keys in _TABLE_KEYS.items():
        value = raw.get(table, {})
        if not isinstance(value, dict):
            raise UsageProblem(f"{file}: {table} must be a table ([{table}])")
        for key in value:
            if key not in keys:
                raise UsageProblem(
                    f"{file}: [{table}] has unknown key {key!r} (known: {', '.join(keys)})"
                )


def limits_table(table: Any, where: str, profile: str | None = None) -> dict[str, LimitSettings]:
    """Limits per system from a ``[limits]`` table: ``profile`` (vendor or off) and
    ``[limits.<system>]`` fields over it; ``profile`` given here wins over the table's."""
    if not isinstance(table, dict):
        raise UsageProblem(f"{where}: [limits] must be a table")
    unknown = [k for k in table if k != "profile" and k not in SYSTEMS]
    if unknown:
        raise UsageProblem(
            f"{where}: [limits] has unknown key(s) {unknown} (known: profile, {', '.join(SYSTEMS)})"
        )
    chosen = profile or table.get("profile", "off")
    if chosen not in ("vendor", "off"):
        raise UsageProblem(f"{where}: limits profile must be vendor or off, not {chosen!r}")
    out: dict[str, LimitSettings] = {}
    for system in SYSTEMS:
        over = table.get(system, {})
        if not isinstance(over, dict):
            raise UsageProblem(f"{where}: [limits.{system}] must be a table")
        bad = [k for k in over if k not in LIMIT_FIELDS]
        if bad:
            raise UsageProblem(
                f"{where}: [limits.{system}] has unknown key(s) {bad} "
                f"(known: {', '.join(LIMIT_FIELDS)})"
            )
        base = VENDOR_LIMITS[system].as_dict() if chosen == "vendor" else {}
        try:
            settings = LimitSettings(**{**base, **over})
        except (TypeError, ValueError) as exc:
            raise UsageProblem(f"{where}: [limits.{system}] {exc}") from None
        if settings.active:
            out[system] = settings
    return out


def load_config(path: Path | None = None) -> Config:
    """Read ``golive.toml`` (default: in the working directory) and the environment."""
    cfg = Config()
    file = path or Path("golive.toml")
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UsageProblem(f"{file}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError:
            raise UsageProblem(f"{file}: not UTF-8 text, so not a TOML file") from None
        except OSError as exc:  # a folder named golive.toml, no permission, ...
            raise UsageProblem(f"{file}: cannot read: {exc.strerror or exc}") from None
        _check_keys(file, raw)
        cfg.source = file
        targets = raw.get("targets", {})
        if not isinstance(targets, dict):
            raise UsageProblem(f"{file}: [targets] must be a table of system = URL")
        for name, value in targets.items():
            if isinstance(value, dict):
                cfg.named_targets[name] = _named_target(file, name, value)
                continue
            if name not in SYSTEMS:
                raise UsageProblem(
                    f"{file}: [targets] names unknown system {name!r} (known: {', '.join(SYSTEMS)})"
                )
            cfg.targets[name] = _check_url(file, f"targets.{name}", value)
        sut = raw.get("sut", {})
        cfg.sut_url = None if sut.get("url") is None else _check_url(file, "sut.url", sut["url"])
        command = sut.get("command")
        if command is not None and not (
            (isinstance(command, str) and command.strip())
            or (isinstance(command, list) and command and all(isinstance(c, str) for c in command))
        ):
            raise UsageProblem(f"{file}: [sut] command must be a command line or a list of strings")
        cfg.sut_command = command
        cfg.slos = dict(raw.get("slos", {}))
        load = raw.get("load", {})
        if not isinstance(load, dict) or not isinstance(load.get("slos", {}), dict):
            raise UsageProblem(f"{file}: [load.slos] must be a table")
        cfg.load_slos = dict(load.get("slos", {}))
        cfg.limits = limits_table(raw.get("limits", {}), str(file))
        cfg.raw_limits = dict(raw.get("limits", {}))
        cfg.fault_presets = dict(raw.get("faults", {}))
    elif path is not None:
        raise UsageProblem(f"config file {path} does not exist")
    cfg.client_id = os.environ.get("GOLIVE_CLIENT_ID", cfg.client_id)
    cfg.client_secret = os.environ.get("GOLIVE_CLIENT_SECRET", cfg.client_secret)
    return cfg
