"""Adds every sub-command to the root app.

Each module under ``golive.cli`` listed here exposes ``register(app)``; keeping the
list in one place lets parts be added without touching each other's files.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: list[str] = [
    "up",
    "scenario",
    "scenario_calibrate",
    "data",
    "load",
    "fault",
    "contracts",
    "sut",
    "clock",
    "reconcile",
    "demo",
]


def register(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"golive.cli.{name}").register(app)
