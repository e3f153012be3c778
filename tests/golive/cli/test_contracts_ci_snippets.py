"""The README's CI snippets for contracts parse as YAML and run golive commands that exist.

The ``sh`` examples of the section's "Verifying pacts" use existing options too.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer.main
import yaml

from golive.cli import app

README = Path(__file__).resolve().parents[3] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Contracts: governance and fuzzing")
    return text[start : text.index("\n## ", start + 1)]


def _snippets() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.+?)```", _section(), flags=re.S)
    return [yaml.safe_load(block) for block in blocks]


def _github_commands(doc: dict[str, Any]) -> list[str]:
    return [
        line
        for job in doc["jobs"].values()
        for step in job["steps"]
        for line in str(step.get("run", "")).splitlines()
    ]


def _gitlab_commands(doc: dict[str, Any]) -> list[str]:
    return [line for job in doc.values() if isinstance(job, dict) for line in job["script"]]


def _check_golive_line(line: str) -> str:
    """Resolve ``golive a b --opt ...`` to its click command; every option must exist."""
    words = shlex.split(line)
    command: Any = typer.main.get_command(app)
    path = []
    rest = words[1:]
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"{line!r}: no command {rest[0]!r}"
        path.append(rest.pop(0))
        command = sub
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{line!r}: {' '.join(path)} has no {word}"
    return " ".join(path)


def test_both_snippets_parse_and_run_diff_export_fuzz_and_verify():
    docs = _snippets()
    github = [d for d in docs if isinstance(d, dict) and "jobs" in d]
    gitlab = [d for d in docs if isinstance(d, dict) and "jobs" not in d and "contracts" in d]
    assert len(github) == 1
    assert len(gitlab) == 1
    for commands in (_github_commands(github[0]), _gitlab_commands(gitlab[0])):
        ran = {_check_golive_line(c) for c in commands if c.strip().startswith("golive ")}
        assert {"contracts diff", "contracts fuzz", "contracts export", "contracts verify"} <= ran


def test_a_wrong_option_in_a_snippet_would_be_caught():
    import pytest

    with pytest.raises(AssertionError, match="has no --bogus"):
        _check_golive_line("golive contracts fuzz --system crm --bogus 1")
    with pytest.raises(AssertionError, match="no command"):
        _check_golive_line("golive contracts frobnicate")


def test_the_verify_examples_use_options_that_exist():
    blocks = re.findall(r"```sh\n(.+?)```", _section(), flags=re.S)
    lines = [
        line.split("#")[0].strip()
        for block in blocks
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip().startswith("golive contracts verify")
    ]
    assert len(lines) >= 3
    for line in lines:
        assert _check_golive_line(line) == "contracts verify"
