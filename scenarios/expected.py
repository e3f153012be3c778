"""Checked-in expected results of the library scenarios, one seeded replication each.

As SimPy keeps the output of its seeded examples, these files make any change to
what the model computes visible in review: a test reruns each scenario and
compares with :func:`compare`, numbers within a relative tolerance of ``REL_TOL``
(or ``ABS_TOL`` near zero), so another numpy build or processor (last-bit differences
of ``exp``/``log``) does not fail it while any change to the model does. After a
deliberate model change, ``python -m scenarios.expected`` rewrites them.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from scenarios.catalog import library_names, load_scenario
from scenarios.runner import make_plan, run_task
from scenarios.summary import aggregate, to_json

__all__ = ["ABS_TOL", "EXPECTED_DIR", "REL_TOL", "compare", "compute", "render", "write_expected"]

EXPECTED_DIR = Path(__file__).resolve().parent / "library" / "expected"
# A model change moves some number by far more than a millionth (a count by one in a
# thousand deals already moves it by 1e-3); another libm moves them by ~1e-15.
REL_TOL = 1e-6
ABS_TOL = 1e-9
_SIGNIFICANT_DIGITS = 10


def _rounded(value: Any) -> Any:
    # Ten significant digits keep the files readable; the comparison has its own tolerance.
    if isinstance(value, float):
        return float(f"{value:.{_SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _same_number(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def compare(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Differences between two summaries, each naming its field (``points.0.totals.x``).

    Numbers match within ``REL_TOL`` relative (``ABS_TOL`` absolute near zero);
    booleans, strings, ``None`` and the shape of the document must match exactly.
    """
    name = where or "(document)"
    numeric = (int, float)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{name}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, numeric) and isinstance(actual, numeric):
        if _same_number(float(expected), float(actual)):
            return []
        return [f"{name}: expected {expected!r}, got {actual!r} (tolerance {REL_TOL:g} relative)"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(expected.keys() | actual.keys(), key=str):
            path = f"{where}.{key}" if where else str(key)
            if key not in actual:
                out.append(f"{path}: missing from the result")
            elif key not in expected:
                out.append(f"{path}: not in the expected file")
            else:
                out.extend(compare(expected[key], actual[key], path))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{name}: expected {len(expected)} items, got {len(actual)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(compare(e, a, f"{where}.{i}" if where else str(i)))
        return out
    return [] if expected == actual else [f"{name}: expected {expected!r}, got {actual!r}"]


def compute(name: str) -> dict[str, Any]:
    """The summary of one replication of a library scenario at its own seed."""
    spec = load_scenario(name)
    result = run_task(spec.model_dump(mode="json"), 0, 0)
    summary: dict[str, Any] = _rounded(aggregate(make_plan(spec, 1), [result]))
    return summary


def render(summary: dict[str, Any]) -> str:
    return to_json(summary, sort_keys=True)


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
