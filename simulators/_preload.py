"""What the fork server of ``simulators/children.py`` imports once for every simulator.

The web stack, the kit, the server and each system's modules: a forked child then
only builds its app (docs/benchmarks.md, target 7). Nothing here may start a thread,
open a socket or an event loop: they would not survive the fork.
"""

from __future__ import annotations

import contextlib
import importlib

import uvicorn.lifespan.on
import uvicorn.protocols.http.h11_impl

from lifecycle.systems import SYSTEMS

__all__: list[str] = []

with contextlib.suppress(ImportError):  # without uvloop or httptools serve uses the defaults
    import uvicorn.loops.uvloop
    import uvicorn.protocols.http.httptools_impl  # noqa: F401
for _system in SYSTEMS:
    importlib.import_module(f"simulators.{_system}.app")
