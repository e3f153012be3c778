"""CI runs what the README promises: its test command, after lint, format and types."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"Run the tests:\s*```sh\n(.+?)\n```", readme)
    assert match, "the README names the command that installs and runs the tests"
    return match.group(1).strip()


def test_ci_ends_with_exactly_the_readme_test_command() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[-1] == _readme_test_command()


def test_ci_checks_lint_format_and_types_before_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    steps = ["ruff check .", "ruff format --check .", "mypy", _readme_test_command()]
    positions = [script.find(f"\n{step}\n") for step in steps]
    assert all(p >= 0 for p in positions), dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions)
