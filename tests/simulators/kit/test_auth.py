"""Bearer tokens and the token endpoint: hostile input is a 401, never a 500."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from simulators.estate import Estate, running_estate, start_estate
from simulators.kit.auth import SIGNING_KEY_ENV, TokenIssuer

_PACKAGES = ("golive", "lifecycle", "simulators", "scenarios", "contracts", "loadtests",
             "examples", "benchmarks")  # fmt: skip


@pytest.fixture(scope="module")
def crm() -> Iterator[Estate]:
    estate = start_estate(["crm"])
    try:
        yield estate
    finally:
        estate.stop()


def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "authorization",
    [
        b"Bearer gl.Z29saXZl.\xb2.abc",  # latin-1 superscript two: str.isdigit() says yes
        "Bearer gl.Z29saXZl.\u0663\u0663.abc".encode(),  # Arabic-Indic digits
        b"Bearer gl.Z29saXZl.99999999999999999999999999.abc",
        b"Bearer \xff\xfe\xfd",
        b"Bearer gl.Z29saXZl.1999999999.\xe9\xe9",  # non-ASCII where the signature goes
    ],
)
def test_a_token_with_non_ascii_bytes_is_a_401_problem(crm, authorization):
    request = (
        b"GET /accounts HTTP/1.1\r\nHost: crm\r\nConnection: close\r\n"
        b"Authorization: " + authorization + b"\r\n\r\n"
    )
    status, headers, body = _raw(crm.url("crm"), request)
    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "invalid_token"


@pytest.mark.parametrize("secret", ["g\u00f6live-secret", "\u2603", "golive-secret\u00e9"])
def test_a_non_ascii_client_secret_is_invalid_client(crm, secret):
    response = httpx.post(
        f"{crm.url('crm')}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "golive", "client_secret": secret},
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_client"


def test_a_non_ascii_client_id_is_invalid_client(crm):
    response = httpx.post(
        f"{crm.url('crm')}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "g\u00f6",
            "client_secret": "\u00e9",
        },
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_client"


def test_the_default_client_is_defined_once():
    root = Path(__file__).resolve().parents[3]
    holders = [
        str(path.relative_to(root))
        for package in _PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        if '"golive-secret"' in path.read_text(encoding="utf-8")
    ]
    assert holders == ["simulators/kit/credentials.py"]


def _minted(system: str, key: bytes) -> str:
    """A token made outside the estate, signed with ``key``."""
    issuer = TokenIssuer(system, signing_key=key)
    token = issuer.issue("client_credentials", "golive", "golive-secret", time.time())
    return str(token["access_token"])


def test_a_token_signed_with_the_old_source_code_key_is_refused(crm):
    forged = _minted("crm", b"golive-simulator-signing-key")
    response = httpx.get(
        f"{crm.url('crm')}/accounts", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_each_estate_signs_with_its_own_key_shared_by_its_systems(crm):
    with running_estate(["crm", "erp"]) as other:
        keys = {app.state.sim.rt.tokens.signing_key for app in other.apps.values()}
        assert len(keys) == 1
        assert keys != {crm.apps["crm"].state.sim.rt.tokens.signing_key}
        theirs = {"Authorization": f"Bearer {other.token('crm')}"}
        assert httpx.get(f"{crm.url('crm')}/accounts", headers=theirs).status_code == 401
        assert httpx.get(f"{other.url('crm')}/accounts", headers=theirs).status_code == 200


def test_a_signing_key_from_the_environment_gives_stable_tokens(monkeypatch):
    monkeypatch.setenv(SIGNING_KEY_ENV, "team-fixed-key")
    minted = {"Authorization": f"Bearer {_minted('crm', b'team-fixed-key')}"}
    with running_estate(["crm"]) as estate:
        assert httpx.get(f"{estate.url('crm')}/accounts", headers=minted).status_code == 200
