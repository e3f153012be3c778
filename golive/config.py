"""``golive.toml``: targets, the SUT, SLOs and presets. Everything is optional.

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

__all__ = ["DEFAULT_BASE_PORT", "SYSTEMS", "Config", "default_targets", "load_config"]

DEFAULT_BASE_PORT = 8101


def default_targets(host: str = "127.0.0.1", base_port: int = DEFAULT_BASE_PORT) -> dict[str, str]:
    """Base URL per system for an estate started by ``golive up``."""
    return {name: f"http://{host}:{base_port + i}" for i, name in enumerate(SYSTEMS)}


@dataclass
class Config:
    """The loaded configuration; ``targets`` maps a system name to its base URL."""

    targets: dict[str, str] = field(default_factory=default_targets)
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    sut_url: str | None = None
    sut_command: str | None = None
    slos: dict[str, Any] = field(default_factory=dict)
    rate_limits: dict[str, Any] = field(default_factory=dict)
    fault_presets: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None


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
        targets = raw.get("targets", {})
        if not isinstance(targets, dict):
            raise UsageProblem(f"{file}: [targets] must be a table of system = URL")
        for name, url in targets.items():
            if name not in SYSTEMS:
                raise UsageProblem(
                    f"{file}: [targets] names unknown system {name!r} (known: {', '.join(SYSTEMS)})"
                )
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise UsageProblem(f"{file}: targets.{name} must be an http(s) URL")
            cfg.targets[name] = url.rstrip("/")
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
