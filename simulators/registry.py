"""The five systems by name: default port and app factory, imported only when asked for."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lifecycle.systems import SYSTEMS

if TYPE_CHECKING:
    from fastapi import FastAPI

    from simulators.kit.runtime import SimConfig

__all__ = ["DEFAULT_BASE_PORT", "SYSTEMS", "create_app", "default_port"]

DEFAULT_BASE_PORT = 8101


def default_port(system: str, base_port: int = DEFAULT_BASE_PORT) -> int:
    return base_port + SYSTEMS.index(system)


def create_app(system: str, config: SimConfig | None = None) -> FastAPI:
    """A new, empty simulator app for ``system``."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; known: {', '.join(SYSTEMS)}")
    module = importlib.import_module(f"simulators.{system}.app")
    app: FastAPI = module.create_app(config)
    return app
