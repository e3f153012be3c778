"""The reviewed copies of the simulators' OpenAPI documents under ``contracts/openapi/``.

The documents are generated from the code; the committed copies are what a reviewer
read and what consumers pin. ``python -m contracts.specs`` rewrites them after a
deliberate change; the test suite fails when code and copy drift apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simulators.registry import SYSTEMS, create_app

__all__ = ["SPEC_DIR", "committed_spec", "drifted", "generated_spec", "render", "write_specs"]

SPEC_DIR = Path(__file__).resolve().parent / "openapi"


def generated_spec(system: str) -> dict[str, Any]:
    """The OpenAPI document the code produces now."""
    spec: dict[str, Any] = create_app(system).openapi()
    return spec


def render(spec: dict[str, Any]) -> str:
    """Stable text form: sorted keys, two-space indent, trailing newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def committed_spec(system: str) -> str | None:
    path = SPEC_DIR / f"{system}.json"
    return path.read_text(encoding="utf-8") if path.exists() else None


def _without_version(text: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(text)
    spec.get("info", {}).pop("version", None)
    return spec


def drifted(system: str) -> bool:
    """True when the committed copy differs from the code (the package version aside)."""
    committed = committed_spec(system)
    if committed is None:
        return True
    return _without_version(committed) != _without_version(render(generated_spec(system)))


def write_specs(systems: tuple[str, ...] = SYSTEMS) -> list[Path]:
    SPEC_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for system in systems:
        path = SPEC_DIR / f"{system}.json"
        path.write_text(render(generated_spec(system)), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.specs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report drift (exit 1)")
    args = parser.parse_args(argv)
    if args.check:
        stale = [s for s in SYSTEMS if drifted(s)]
        for system in stale:
            sys.stderr.write(f"contracts/openapi/{system}.json differs from the code\n")
        return 1 if stale else 0
    for path in write_specs():
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
