"""The system under test of a live run: a bundled middleware in a thread, a team's
middleware started from ``[sut] command`` with the SUT contract's ``GOLIVE_*``
variables, or one already listening at a URL (docs/sut-contract.md).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from examples.run import KINDS, SutHandle, new_webhook_secret, start_sut, sut_env
from golive.errors import UsageProblem

__all__ = [
    "BUNDLED_TUNING",
    "LiveSut",
    "check_reachable",
    "parse_command",
    "start_live_sut",
]

# Fast retries for the bundled middlewares (live runs and `golive demo`): a compressed
# outage of simulated hours passes in wall seconds.
BUNDLED_TUNING: dict[str, Any] = {
    "backoff_initial_s": 0.05,
    "backoff_max_s": 0.3,
    "park_delay_s": 0.1,
    "poll_s": 0.05,
    "breaker_reset_s": 0.5,
    "job_attempts": 10,
}
_START_LIMIT_S = 20.0
_STOP_GRACE_S = 5.0


@dataclass
class LiveSut:
    """A middleware to drive: its URL, its webhook secret, how to stop it."""

    kind: str  # reference, naive, command, url
    url: str
    secret: str
    command: list[str] | None = None
    _handle: SutHandle | None = field(default=None, repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    _log: Path | None = field(default=None, repr=False)
    _http: httpx.Client | None = field(default=None, repr=False)

    def status(self) -> dict[str, Any] | None:
        """Its ``GET /status`` (the reference middleware's queue), None if it has none."""
        try:
            if self._http is None:
                self._http = httpx.Client(timeout=5)
            response = self._http.get(f"{self.url}/status")
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def stop(self) -> None:
        """Stop what this run started (nothing for a middleware it only attached to)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._handle is not None:
            self._handle.stop()
            self._handle = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(_STOP_GRACE_S)
        self._process = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "command": self.command}


def parse_command(command: str | Sequence[str] | None) -> list[str] | None:
    """``[sut] command`` as an argv: a list as given, a string split as a shell would."""
    if command is None:
        return None
    argv = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
    if not argv:
        raise UsageProblem("[sut] command is empty")
    return argv


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return False
    return True


def check_reachable(url: str) -> None:
    """UsageProblem (one line) when nothing answers at the SUT's URL."""
    _check_url(url, "--sut")
    if not _answers(url):
        raise UsageProblem(
            f"nothing answers at the SUT URL {url}; start it first, or give "
            "[sut] command in golive.toml"
        )


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageProblem(f"{what}: {url!r} is not an http(s) URL")
    return url.rstrip("/")


def _spawn(argv: list[str], env: Mapping[str, str], url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        try:
            process = subprocess.Popen(
                argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            raise UsageProblem(f"[sut] command {argv[0]!r} cannot start: {exc.strerror}") from None
    deadline = time.monotonic() + _START_LIMIT_S
    while not _answers(url):
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
            raise UsageProblem(
                f"[sut] command exited with {process.returncode} before {url} "
                f"answered{': ' + tail[0][:200] if tail else ''}"
            )
        if time.monotonic() > deadline:
            process.kill()
            process.wait(_STOP_GRACE_S)
            raise UsageProblem(
                f"[sut] command started but {url} did not answer within {_START_LIMIT_S:g} s"
            )
        time.sleep(0.1)
    return process


def start_live_sut(
    choice: str,
    estate_urls: Mapping[str, str],
    *,
    config_url: str | None = None,
    config_command: str | Sequence[str] | None = None,
    credentials: tuple[str, str] | None = None,
) -> LiveSut:
    """Start (or reach) the SUT ``choice``: ``reference``, ``naive``, a URL, or ``config``
    (``[sut]`` of golive.toml: url, and optionally the command that starts it).

    UsageProblem, one line, when nothing answers at the URL or the command fails.
    """
    env_secret = os.environ.get("GOLIVE_WEBHOOK_SECRET")
    if choice in KINDS:
        secret = new_webhook_secret()
        tmp = tempfile.TemporaryDirectory(prefix="golive-live-sut-")
        handle = start_sut(
            choice, sut_env(estate_urls, secret), state_dir=Path(tmp.name), **BUNDLED_TUNING
        )
        return LiveSut(choice, handle.url, secret, _handle=handle, _tmp=tmp)
    if choice == "config" and not config_url:
        raise UsageProblem("golive.toml has no [sut] url")
    url = _check_url(
        (config_url or "") if choice == "config" else choice,
        "[sut] url" if choice == "config" else "--sut",
    )
    argv = parse_command(config_command) if choice == "config" else None
    if argv is None:
        check_reachable(url)
        if not env_secret:
            raise UsageProblem(
                "GOLIVE_WEBHOOK_SECRET must hold the whsec_ secret the "
                f"middleware at {url} verifies webhooks with"
            )
        return LiveSut("url", url, env_secret)
    if _answers(url):
        raise UsageProblem(
            f"something already answers at {url}: stop it, or drop [sut] command to attach to it"
        )
    secret = env_secret or new_webhook_secret()
    env = sut_env(estate_urls, secret)
    if credentials is not None:
        env |= {"GOLIVE_CLIENT_ID": credentials[0], "GOLIVE_CLIENT_SECRET": credentials[1]}
    port = urlsplit(url).port
    if port is not None:
        env["GOLIVE_SUT_PORT"] = str(port)
    tmp = tempfile.TemporaryDirectory(prefix="golive-live-sut-")
    log = Path(tmp.name) / "sut.log"
    try:
        process = _spawn(argv, env, url, log)
    except UsageProblem:
        tmp.cleanup()
        raise
    return LiveSut("command", url, secret, argv, _process=process, _tmp=tmp, _log=log)
