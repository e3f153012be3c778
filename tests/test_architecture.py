"""The import direction of ARCHITECTURE.md, checked on every module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("golive", "lifecycle", "simulators", "contracts", "scenarios", "loadtests", "examples")
ALLOWED = {
    "lifecycle": set(),
    "simulators": {"lifecycle"},
    "contracts": {"simulators", "lifecycle"},
    "scenarios": {"simulators", "lifecycle"},
    "loadtests": {"simulators", "lifecycle"},
    "examples": {"simulators", "lifecycle"},
    "golive": set(PACKAGES),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_architecture_allows(package):
    broken = []
    for owner, path in _modules():
        if owner != package:
            continue
        ours = _imports(path) & set(PACKAGES)
        for target in ours - ALLOWED[package] - {package}:
            broken.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not broken, "\n".join(broken)


def test_nothing_outside_loadtests_imports_locust():
    offenders = [
        str(path.relative_to(ROOT))
        for owner, path in _modules()
        if owner != "loadtests" and "locust" in _imports(path)
    ]
    assert not offenders


def test_cli_import_pulls_in_no_heavy_library():
    heavy = ["simpy", "faker", "schemathesis", "locust", "uvicorn", "matplotlib", "numpy", "pact"]
    code = f"import sys, golive.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
