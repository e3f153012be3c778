"""Errors the CLI turns into one line and an exit status (2: bad usage, 1: a check failed)."""

from __future__ import annotations

__all__ = ["CheckFailed", "GoliveError", "UsageProblem"]


class GoliveError(Exception):
    """An error with a message fit for one line on the terminal."""

    exit_code = 2


class UsageProblem(GoliveError):
    """Bad input from the user: a wrong option, a missing file, a taken port."""

    exit_code = 2


class CheckFailed(GoliveError):
    """What the command checks did not hold (an SLO, an invariant, a contract)."""

    exit_code = 1
