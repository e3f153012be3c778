"""The request envelope on a real socket: header bounds, body size, media types, origins."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse

from simulators.kit.app import build_app
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime, SimConfig
from simulators.kit.state import SystemState
from simulators.kit.store import CollectionSpec
from simulators.registry import create_app

BODY_LIMIT = 64 * 1024
SEED_LIMIT = 256 * 1024


@pytest.fixture
def server(wire):
    config = SimConfig(max_body_bytes=BODY_LIMIT, max_seed_body_bytes=SEED_LIMIT)
    with wire.serving(create_app("crm", config)) as url:
        yield url, {"Authorization": f"Bearer {wire.token_for(url)}"}


def _problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status
    assert body["code"] == code, body
    return body


def _journal(url: str) -> list[dict]:
    return httpx.get(f"{url}/_sim/journal").json()["data"]


# X-Correlation-Id and the journal (bounded headers)


def test_a_correlation_id_of_200_visible_characters_is_echoed_and_stored(server):
    url, auth = server
    cid = "c" * 190 + "-_.:/=+~!9"
    r = httpx.post(f"{url}/accounts", json={"name": "A"}, headers={**auth, "X-Correlation-Id": cid})
    assert r.status_code == 201
    assert r.headers["x-correlation-id"] == cid
    assert r.json()["correlation_id"] == cid


@pytest.mark.parametrize(
    "value",
    [b"c" * 201, b"x" * 500_000, b"caf\xe9", b"two words", b"tab\there", "Zoë".encode()],
    ids=["201-chars", "500KB", "latin-1", "space", "tab", "utf-8"],
)
def test_a_correlation_id_too_long_or_not_visible_ascii_is_a_400_naming_the_header(server, value):
    url, auth = server
    r = httpx.post(
        f"{url}/accounts", json={"name": "A"}, headers={**auth, "X-Correlation-Id": value}
    )
    body = _problem(r, 400, "invalid_header")
    assert body["errors"][0]["field"] == "X-Correlation-Id"
    assert "x-correlation-id" not in r.headers
    assert httpx.get(f"{url}/accounts", headers=auth).json()["data"] == []


def test_the_journal_keeps_oversized_headers_and_paths_bounded_even_without_a_token(server):
    url, _ = server
    big = "k" * 500_000
    for headers in ({"X-Correlation-Id": big}, {"Idempotency-Key": big}):
        httpx.post(f"{url}/accounts", json={"name": "A"}, headers=headers)
    httpx.get(f"{url}/accounts/{'p' * 60_000}")
    entries = _journal(url)[-3:]
    assert len(entries) == 3
    assert all(len(json.dumps(e)) < 5_000 for e in entries), [len(json.dumps(e)) for e in entries]
    assert entries[0]["status"] == 400
    assert entries[1]["status"] in (401, 422)


# Body size


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read(server, wire):
    url, auth = server
    head = (
        f"POST /accounts HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    # Only the head is sent: an answer proves the server did not wait for 50 MB.
    answer = wire.raw_exchange(url, head + b'{"name": "', timeout_s=5)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"connection: close" in rest.lower()
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["code"] == "body_too_large"
    assert str(BODY_LIMIT) in body["detail"]


def test_a_chunked_body_streaming_past_the_limit_is_cut_off_with_413(server):
    url, auth = server
    sent = 0

    def stream() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"name": "'
        for _ in range(2048):  # up to 128 MiB if nobody stops us
            sent += 65536
            yield b"a" * 65536

    r = httpx.post(
        f"{url}/accounts",
        content=stream(),
        headers={**auth, "Content-Type": "application/json"},
        timeout=30,
    )
    _problem(r, 413, "body_too_large")
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert sent < 16 * 1024 * 1024, f"the server read {sent} bytes"
    assert httpx.get(f"{url}/accounts", headers=auth).json()["data"] == []


def test_a_chunked_body_under_the_limit_is_accepted(server):
    url, auth = server

    def stream() -> Iterator[bytes]:
        yield b'{"name": '
        yield b'"Chunked"}'

    r = httpx.post(
        f"{url}/accounts", content=stream(), headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Chunked"


def test_seed_takes_bodies_over_the_business_limit_up_to_its_own(server):
    url, _ = server
    line = json.dumps({"object_type": "nothing", "object": {"pad": "x" * 1000}}) + "\n"
    under = (line * ((BODY_LIMIT * 2) // len(line))).encode()
    r = httpx.post(f"{url}/_sim/seed", content=under,
                   headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 422, r.text  # read and parsed: the type is unknown
    over = (line * (SEED_LIMIT // len(line) + 1)).encode()
    r = httpx.post(f"{url}/_sim/seed", content=over,
                   headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    _problem(r, 413, "body_too_large")


def test_body_limits_default_to_1_mib_and_64_mib():
    config = SimConfig()
    assert config.max_body_bytes == 1024 * 1024
    assert config.max_seed_body_bytes == 64 * 1024 * 1024


# Media types


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}],
    ids=["text/plain", "form", "none"],
)
def test_a_business_body_that_is_not_json_is_a_415(server, headers):
    url, auth = server
    r = httpx.post(f"{url}/accounts", content=b'{"name": "A"}', headers={**auth, **headers})
    _problem(r, 415, "unsupported_media_type")
    assert httpx.get(f"{url}/accounts", headers=auth).json()["data"] == []


def test_json_with_parameters_in_any_case_is_accepted(server):
    url, auth = server
    r = httpx.post(
        f"{url}/accounts",
        content=b'{"name": "A"}',
        headers={**auth, "Content-Type": "Application/JSON; charset=UTF-8"},
    )
    assert r.status_code == 201, r.text


# The control plane from a browser


def test_control_plane_writes_with_a_body_need_json(server):
    url, _ = server
    r = httpx.post(f"{url}/_sim/reset", content=b"{}", headers={"Content-Type": "text/plain"})
    _problem(r, 415, "unsupported_media_type")
    r = httpx.post(f"{url}/_sim/seed", content=b'{"objects": {}}',
                   headers={"Content-Type": "text/plain"})  # fmt: skip
    _problem(r, 415, "unsupported_media_type")
    r = httpx.post(f"{url}/_sim/clock/advance", content=b'{"seconds": 5}',
                   headers={"Content-Type": "text/plain"})  # fmt: skip
    _problem(r, 415, "unsupported_media_type")


def test_an_empty_control_plane_post_needs_no_content_type(server, wire):
    url, _ = server
    answer = wire.raw_exchange(
        url, b"POST /_sim/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert httpx.post(f"{url}/_sim/reset").status_code == 200
    assert httpx.post(f"{url}/_sim/reset", json={}).status_code == 200


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "http://127.0.0.1.evil.example:9200", "null",
     "http://localhost.evil.example", "http://[::1].evil:80", "https://example.com:443"],
)  # fmt: skip
def test_control_plane_writes_from_a_foreign_origin_are_refused(server, origin):
    url, auth = server
    httpx.post(f"{url}/accounts", json={"name": "Keep"}, headers=auth)
    r = httpx.post(f"{url}/_sim/reset", headers={"Origin": origin})
    body = _problem(r, 403, "foreign_origin")
    assert body["errors"][0]["field"] == "Origin"
    r = httpx.post(f"{url}/_sim/seed", json={"objects": {}},
                   headers={"Origin": origin})  # fmt: skip
    _problem(r, 403, "foreign_origin")
    assert len(httpx.get(f"{url}/accounts", headers=auth).json()["data"]) == 1


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:9200", "http://localhost:3000", "http://[::1]:8080", "http://localhost"],
)
def test_control_plane_writes_from_a_loopback_origin_work(server, origin):
    url, _ = server
    r = httpx.post(f"{url}/_sim/reset", headers={"Origin": origin})
    assert r.status_code == 200, r.text


def test_control_plane_reads_ignore_the_origin(server):
    url, _ = server
    assert httpx.get(f"{url}/_sim/health", headers={"Origin": "http://evil.example"}).is_success


def test_a_served_simulator_takes_its_body_limits_from_the_environment(monkeypatch):
    import uvicorn

    from simulators import serve

    served = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, **_: served.append(self.config.app))
    monkeypatch.setenv("GOLIVE_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("GOLIVE_MAX_SEED_BODY_BYTES", "4096")
    serve.serve("crm")
    config = served[0].state.sim.rt.config
    assert (config.max_body_bytes, config.max_seed_body_bytes) == (2048, 4096)
    monkeypatch.setenv("GOLIVE_MAX_BODY_BYTES", "1MB")
    with pytest.raises(SystemExit):
        serve.main(["crm"])


def test_the_openapi_documents_declare_the_envelope_refusals():
    doc = create_app("crm").openapi()
    create = doc["paths"]["/accounts"]["post"]
    assert {"400", "413", "415"} <= set(create["responses"])
    correlation = next(p for p in create["parameters"] if p["name"] == "X-Correlation-Id")
    assert correlation["schema"]["maxLength"] == 200
    assert "400" in doc["paths"]["/accounts"]["get"]["responses"]
    seed = doc["paths"]["/_sim/seed"]["post"]["responses"]
    assert {"403", "413", "415"} <= set(seed)
    assert "403" in doc["paths"]["/_sim/reset"]["post"]["responses"]


# The journal's span (docs/calibration.md reads it): it ends when the answer was sent


class _State(SystemState):
    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (CollectionSpec("account"),)


def test_the_journal_span_ends_when_the_answer_was_sent_not_after_later_work(wire):
    router = APIRouter(route_class=SimRoute)

    @router.get("/after")
    async def after() -> JSONResponse:  # the answer, then 0.5 s of work the client skips
        return JSONResponse({"ok": True}, background=BackgroundTask(asyncio.sleep, 0.5))

    app = build_app(_State(Runtime("crm")), router, title="t", description="t")
    with wire.serving(app) as url:
        headers = {"Authorization": f"Bearer {wire.token_for(url)}", "X-Correlation-Id": "c1"}
        assert httpx.get(f"{url}/after", headers=headers).json() == {"ok": True}
        deadline = time.monotonic() + 5
        while not (rows := [r for r in _journal(url) if r["correlation_id"] == "c1"]):
            assert time.monotonic() < deadline, "no journal entry"  # written after the work
            time.sleep(0.02)
        (row,) = rows
        assert row["status"] == 200
        assert row["duration_ms"] < 400, row
