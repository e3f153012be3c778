"""The state directory's checks, apart from the storage engine (``kit/durable.py``).

``golive up`` checks the folder before it starts the simulators; this module lets it
do so without importing SQLite, asyncio and the web stack (docs/durability.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

__all__ = ["DURABILITY_MODES", "Durability", "StateDirProblem", "check_state_dir"]

Durability = Literal["full", "normal"]
DURABILITY_MODES: tuple[Durability, ...] = ("full", "normal")


class StateDirProblem(ValueError):
    """The state directory is not a writable folder (a one-line message)."""


def check_state_dir(path: str | Path) -> Path:
    """The state directory, made if missing; ``StateDirProblem`` unless a writable folder."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise StateDirProblem(f"state dir {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateDirProblem(f"state dir {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StateDirProblem(f"state dir {folder} is not writable")
    return folder
