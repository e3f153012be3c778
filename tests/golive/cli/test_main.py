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
