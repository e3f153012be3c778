from __future__ import annotations

import subprocess
import sys

GOLIVE = [sys.executable, "-m", "golive"]


def test_help_lists_commands_with_an_example():
    result = subprocess.run([*GOLIVE, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "Example: golive up" in result.stdout
    assert "up" in result.stdout


def test_every_command_help_carries_an_example():
    import typer.main

    from golive.cli import app

    group = typer.main.get_group(app)
    missing = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        commands = sub.values() if sub else [command]
        for cmd in commands:
            if "Example" not in (cmd.help or ""):
                missing.append(f"{name} {cmd.name}")
    assert not missing


def test_unknown_command_is_one_line_and_exit_2():
    result = subprocess.run([*GOLIVE, "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("golive: ")


def test_version_prints_the_package_version():
    from golive import __version__

    result = subprocess.run([*GOLIVE, "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"golive {__version__}"


def _golive(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GOLIVE, *args], capture_output=True, text=True, timeout=60)


def test_no_arguments_prints_the_help_and_no_empty_error_line():
    result = _golive()
    assert result.returncode == 2
    assert "Usage: golive" in result.stdout
    assert result.stderr.strip() == ""


def test_debug_goes_anywhere_and_never_changes_the_exit_status():
    plain = _golive("data", "generate", "--accounts", "1", "--out", "/proc/nope")
    after = _golive("data", "generate", "--accounts", "1", "--out", "/proc/nope", "--debug")
    before = _golive("--debug", "data", "generate", "--accounts", "1", "--out", "/proc/nope")
    assert plain.returncode == after.returncode == before.returncode == 2, after.stderr
    assert "No such option" not in after.stderr
    assert "Traceback" in after.stderr
    assert "Traceback" not in plain.stderr
    assert after.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_flags_show_no_value_type_in_the_help():
    out = subprocess.run([*GOLIVE, "data", "generate", "--help"], capture_output=True,
                         text=True, env={"COLUMNS": "200", "PATH": ""}).stdout  # fmt: skip
    assert "--events" in out
    assert "<bool>" not in out
    load = _golive("load", "--help").stdout
    assert "<bool>" not in load
