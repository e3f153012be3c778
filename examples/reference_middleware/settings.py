"""Configuration, read ONLY from the ``GOLIVE_*`` variables of the SUT contract.

Pattern: twelve-factor configuration. The same build runs against the simulators and
against staging because nothing but the environment says where the systems are
(docs/sut-contract.md). The tuning knobs below have production-like defaults; tests
pass smaller ones in code, never through extra variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lifecycle.systems import SYSTEMS  # the five systems, in golive's one list
from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = ["SYSTEMS", "ConfigError", "Settings"]

_DEFAULT_STATE_DIR = ".golive/reference-middleware"


class ConfigError(ValueError):
    """A missing or malformed GOLIVE_* variable (one line, names the variable)."""


@dataclass(frozen=True)
class Settings:
    urls: dict[str, str]
    client_id: str
    client_secret: str
    webhook_secret: str
    state_dir: Path = Path(_DEFAULT_STATE_DIR)
    port: int = 0
    # Tuning: bounded concurrency, retries, breaker, parking (docs/limits.md, docs/faults.md).
    workers: int = 4
    http_timeout_s: float = 10.0
    http_attempts: int = 5  # per call, inside one job attempt (tenacity)
    job_attempts: int = 5  # whole-job attempts before the dead-letter store
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0  # also caps a Retry-After
    breaker_failures: int = 5
    breaker_reset_s: float = 10.0
    park_delay_s: float = 1.0  # an event waiting for another one is looked at again after this
    park_timeout_s: float = 600.0  # ... and dead-lettered if still waiting after this
    poll_s: float = 0.2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``env`` (default ``os.environ``); ``overrides`` replace any field."""
        env = os.environ if env is None else env
        urls: dict[str, str] = {}
        for system in SYSTEMS:
            name = f"GOLIVE_{system.upper()}_URL"
            url = env.get(name, "").rstrip("/")
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name} must be the http(s) base URL of {system}, got {url!r}")
            urls[system] = url
        secret = env.get("GOLIVE_WEBHOOK_SECRET", "")
        if not secret.startswith("whsec_"):
            raise ConfigError("GOLIVE_WEBHOOK_SECRET must be a whsec_... secret")
        port_text = env.get("GOLIVE_SUT_PORT", "0")
        if not port_text.isdigit() or int(port_text) > 65535:
            raise ConfigError(f"GOLIVE_SUT_PORT must be a port number, got {port_text!r}")
        settings = cls(
            urls=urls,
            client_id=env.get("GOLIVE_CLIENT_ID", DEFAULT_CLIENT_ID),
            client_secret=env.get("GOLIVE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
            webhook_secret=secret,
            state_dir=Path(env.get("GOLIVE_SUT_STATE_DIR", _DEFAULT_STATE_DIR)),
            port=int(port_text),
        )
        return replace(settings, **overrides)
