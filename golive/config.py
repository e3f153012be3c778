"""``golive.toml``: targets, the SUT, SLOs and presets. Everything is optional.

A target names where the five systems are: ``local`` (``golive up``'s defaults) is
built in; ``[targets.NAME]`` adds one by ``host`` + ``base_port`` or by a URL per system.

Secrets never live in the file: client credentials come from ``GOLIVE_CLIENT_ID``
and ``GOLIVE_CLIENT_SECRET`` (defaults: the simulators' ``golive`` / ``golive-secret``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.errors import UsageProblem
from lifecycle.systems import SYSTEMS
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = [
    "DEFAULT_BASE_PORT",
    "SYSTEMS",
    "Config",
    "TargetSpec",
    "default_targets",
    "load_config",
]

DEFAULT_BASE_PORT = 8101


def default_targets(host: str = "127.0.0.1", base_port: int = DEFAULT_BASE_PORT) -> dict[str, str]:
    """Base URL per system for an estate started by ``golive up``."""
    return {name: f"http://{host}:{base_port + i}" for i, name in enumerate(SYSTEMS)}


@dataclass(frozen=True)
class TargetSpec:
    """One named target: simulators at ``host`` from ``base_port`` on, or a URL per system.

    ``owned`` says golive may change the target's state beyond seeding (move its clock,
    reset it); it defaults to true for simulators and false for URL targets (staging).
    """

    name: str
    host: str | None = None
    base_port: int | None = None
    urls: dict[str, str] = field(default_factory=dict)
    owned: bool = True

    def resolve(self, base_port: int | None = None) -> dict[str, str]:
        if self.host is None:
            if base_port is not None:
                raise UsageProblem(
                    f"--base-port applies to targets given by host and base_port; "
                    f"target {self.name!r} lists a URL per system"
                )
            return dict(self.urls)
        port = self.base_port if base_port is None else base_port
        assert port is not None
        return default_targets(self.host, port) | self.urls


LOCAL = TargetSpec("local", "127.0.0.1", DEFAULT_BASE_PORT)


@dataclass
class Config:
    """The loaded configuration; ``targets`` is the ``local`` target, system -> base URL."""

    targets: dict[str, str] = field(default_factory=default_targets)
    named_targets: dict[str, TargetSpec] = field(default_factory=lambda: {"local": LOCAL})
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    sut_url: str | None = None
    sut_command: str | None = None
    slos: dict[str, Any] = field(default_factory=dict)
    rate_limits: dict[str, Any] = field(default_factory=dict)
    fault_presets: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def _spec(self, name: str) -> TargetSpec:
        spec = self.named_targets.get(name)
        if spec is None:
            known = ", ".join(sorted(self.named_targets))
            raise UsageProblem(f"unknown target {name!r} (known: {known}; see golive.toml)")
        return spec

    def target(self, name: str = "local", base_port: int | None = None) -> dict[str, str]:
        """Base URL per system of the target ``name``; ``base_port`` moves simulators."""
        return self._spec(name).resolve(base_port)

    def owned(self, name: str = "local") -> bool:
        """Whether golive may move the target's clock and reset it."""
        return self._spec(name).owned


def _url(file: Path, where: str, url: object) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UsageProblem(f"{file}: {where} must be an http(s) URL")
    return url.rstrip("/")


def _named_target(file: Path, name: str, table: dict[str, Any]) -> TargetSpec:
    where = f"[targets.{name}]"
    unknown = sorted(set(table) - {"host", "base_port", "owned", *SYSTEMS})
    if unknown:
        raise UsageProblem(
            f"{file}: {where} has unknown key(s) {', '.join(unknown)} (known: host, base_port, "
            f"owned, {', '.join(SYSTEMS)}; credentials come from environment variables)"
        )
    owned = table.get("owned")
    if owned is not None and not isinstance(owned, bool):
        raise UsageProblem(f"{file}: {where} owned must be true or false")
    urls = {s: _url(file, f"{where} {s}", table[s]) for s in SYSTEMS if s in table}
    if "host" in table or "base_port" in table:
        if urls:
            raise UsageProblem(f"{file}: {where} takes either host and base_port or URLs")
        host, port = table.get("host"), table.get("base_port")
        if not isinstance(host, str) or not host:
            raise UsageProblem(f"{file}: {where} host must be a host name or address")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65531:
            raise UsageProblem(f"{file}: {where} base_port must be a port number (1-65531)")
        return TargetSpec(name, host, port, owned=True if owned is None else owned)
    missing = [s for s in SYSTEMS if s not in urls]
    if missing:
        raise UsageProblem(f"{file}: {where} is missing a URL for {', '.join(missing)}")
    return TargetSpec(name, urls=urls, owned=False if owned is None else owned)


def _targets(file: Path, cfg: Config, targets: object) -> None:
    if not isinstance(targets, dict):
        raise UsageProblem(f"{file}: [targets] must be a table")
    overrides: dict[str, str] = {}
    for name, value in targets.items():
        if isinstance(value, dict):
            cfg.named_targets[name] = _named_target(file, name, value)
        elif name in SYSTEMS:  # the flat form: overrides of the built-in local target
            overrides[name] = _url(file, f"targets.{name}", value)
        else:
            raise UsageProblem(
                f"{file}: [targets] names unknown system {name!r} (known: {', '.join(SYSTEMS)}; "
                f"a named target is a table [targets.{name}])"
            )
    local = cfg.named_targets.get("local", LOCAL)
    cfg.named_targets["local"] = TargetSpec(
        "local", local.host, local.base_port, local.urls | overrides, local.owned
    )
    cfg.targets = cfg.target("local")


def load_config(path: Path | None = None) -> Config:
    """Read ``golive.toml`` (default: in the working directory) and the environment."""
    cfg = Config()
    file = path or Path("golive.toml")
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UsageProblem(f"{file}: not valid TOML: {exc}") from exc
        cfg.source = file
        _targets(file, cfg, raw.get("targets", {}))
        sut = raw.get("sut", {})
        cfg.sut_url = sut.get("url")
        cfg.sut_command = sut.get("command")
        cfg.slos = dict(raw.get("slos", {}))
        cfg.rate_limits = dict(raw.get("rate_limits", {}))
        cfg.fault_presets = dict(raw.get("faults", {}))
    elif path is not None:
        raise UsageProblem(f"config file {path} does not exist")
    cfg.client_id = os.environ.get("GOLIVE_CLIENT_ID", cfg.client_id)
    cfg.client_secret = os.environ.get("GOLIVE_CLIENT_SECRET", cfg.client_secret)
    return cfg
