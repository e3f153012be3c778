"""Bearer tokens and the token endpoint: hostile input is a 401, never a 500."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

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


# --- RFC 6749 client authentication and error responses ---------------------------------

_GRANT = {"grant_type": "client_credentials"}
_BODY_CREDS = {**_GRANT, "client_id": "golive", "client_secret": "golive-secret"}


def _token(crm: Estate, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{crm.url('crm')}/oauth/token", **kwargs)  # type: ignore[arg-type]


def test_http_basic_client_authentication_gets_a_token(crm):
    response = _token(crm, data=_GRANT, auth=("golive", "golive-secret"))
    assert response.status_code == 200
    token = response.json()["access_token"]
    accounts = httpx.get(f"{crm.url('crm')}/accounts", headers={"Authorization": f"Bearer {token}"})
    assert accounts.status_code == 200
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.anyio
async def test_basic_credentials_are_form_decoded_as_rfc_6749_asks():
    from simulators.kit.runtime import SimConfig
    from simulators.testing import sim_client

    config = SimConfig(clients={"golive": "golive-secret", "team:a b": "s%3Ac r+t"})
    async with sim_client("crm", config) as c:
        pair = f"{quote_plus('team:a b')}:{quote_plus('s%3Ac r+t')}"
        basic = "Basic " + base64.b64encode(pair.encode()).decode()
        response = await c.post("/oauth/token", data=_GRANT, headers={"Authorization": basic})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"golive:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:golive-secret").decode(),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"golive:\xff").decode(),
    ],
)
def test_a_failed_basic_authentication_is_401_invalid_client_with_a_basic_challenge(
    crm, authorization
):
    response = _token(crm, data=_GRANT, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Basic ")
    body = response.json()
    assert body["error"] == body["code"] == "invalid_client"
    assert body["error_description"] == body["detail"]


def test_credentials_in_the_header_and_the_body_at_once_are_invalid_request(crm):
    response = _token(crm, data=_BODY_CREDS, auth=("golive", "golive-secret"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_client_id_in_the_body_that_names_the_basic_client_is_accepted(crm):
    response = _token(crm, data={**_GRANT, "client_id": "golive"}, auth=("golive", "golive-secret"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"data": {}}, 400, "invalid_request"),
        ({"data": {**_BODY_CREDS, "grant_type": "password"}}, 400, "unsupported_grant_type"),
        ({"json": _BODY_CREDS}, 400, "invalid_request"),
        ({"data": {**_BODY_CREDS, "client_secret": "no"}}, 401, "invalid_client"),
    ],
)
def test_token_errors_carry_the_rfc_6749_error_field_beside_the_problem(crm, kwargs, status, error):
    response = _token(crm, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["error"] == body["code"] == error
    assert body["status"] == status


@pytest.mark.anyio
async def test_the_token_endpoint_documents_basic_auth_and_oauth_errors():
    from simulators.testing import sim_client

    async with sim_client("crm") as c:
        doc = (await c.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["clientBasic"] == {
        "type": "http",
        "scheme": "basic",
    }
    op = doc["paths"]["/oauth/token"]["post"]
    assert {"clientBasic": []} in op["security"]
    assert {} in op["security"]  # or the credentials in the form
    form = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["grant_type"]
    for status in ("400", "401"):
        schema = op["responses"][status]["content"]["application/problem+json"]["schema"]
        assert "error" in str(schema)
    assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
