"""Checked-in expected results of the library scenarios, one seeded replication each.

As SimPy keeps the output of its seeded examples, these files make any change to
what the model computes visible in review: a test reruns each scenario and
compares. After a deliberate model change, ``python -m scenarios.expected``
rewrites them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from scenarios.catalog import library_names, load_scenario
from scenarios.runner import make_plan, run_task
from scenarios.summary import aggregate

__all__ = ["EXPECTED_DIR", "compute", "render", "write_expected"]

EXPECTED_DIR = Path(__file__).resolve().parent / "library" / "expected"
_SIGNIFICANT_DIGITS = 10


def _rounded(value: Any) -> Any:
    # Ten significant digits: exact enough to catch any model change, loose enough
    # for the last-bit differences of another libm.
    if isinstance(value, float):
        return float(f"{value:.{_SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def compute(name: str) -> dict[str, Any]:
    """The summary of one replication of a library scenario at its own seed."""
    spec = load_scenario(name)
    result = run_task(spec.model_dump(mode="json"), 0, 0)
    summary: dict[str, Any] = _rounded(aggregate(make_plan(spec, 1), [result]))
    return summary


def render(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=True) + "\n"


def write_expected(names: list[str] | None = None) -> list[Path]:
    EXPECTED_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or library_names():
        path = EXPECTED_DIR / f"{name}.json"
        path.write_text(render(compute(name)), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios.expected", description=__doc__)
    parser.add_argument("names", nargs="*", help="library scenarios (default: all)")
    args = parser.parse_args(argv)
    for path in write_expected(args.names or None):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
