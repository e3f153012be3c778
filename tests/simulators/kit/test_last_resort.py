"""An unexpected exception anywhere becomes a logged problem+json 500, never uvicorn's text."""

from __future__ import annotations

import logging
import time
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter

from simulators.kit.app import build_app
from simulators.kit.routing import SimRoute
from simulators.kit.runtime import Runtime
from simulators.kit.state import SystemState
from simulators.kit.store import CollectionSpec
from simulators.testing import sim_client


class _State(SystemState):
    SYSTEM = "crm"
    COLLECTIONS: ClassVar[tuple[CollectionSpec, ...]] = (CollectionSpec("account"),)


class _Boom(RuntimeError):
    pass


def _app():
    state = _State(Runtime("crm"))
    r = APIRouter(route_class=SimRoute)

    @r.post("/boom")
    async def boom() -> None:
        raise _Boom("kaput in a route")

    @r.get("/boom/{thing}")
    async def boom_get(thing: str, limit: int = 1) -> None:
        raise _Boom(f"kaput in {thing}")

    return build_app(state, r, title="t", description="t")


def _is_internal_error(r: httpx.Response) -> None:
    assert r.status_code == 500, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "internal_error"
    assert body["status"] == 500
    assert "kaput" not in body["detail"]  # no internals on the wire


def _logged(caplog: pytest.LogCaptureFixture) -> None:
    records = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert records, caplog.text
    assert records[-1].exc_info[0] is _Boom
    assert "kaput" in caplog.text


def _token(url: str) -> dict[str, str]:
    r = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "golive",
              "client_secret": "golive-secret"},
    )  # fmt: skip
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_exception_in_a_route_is_a_logged_problem_500_on_the_wire(wire, caplog):
    with wire.serving(_app()) as url:
        auth = _token(url)
        _is_internal_error(httpx.post(f"{url}/boom", headers=auth))
        _logged(caplog)
        caplog.clear()
        _is_internal_error(httpx.get(f"{url}/boom/x", headers=auth))
        _logged(caplog)
        # The server still serves after it.
        assert httpx.get(f"{url}/_sim/health").status_code == 200


def test_an_exception_in_the_middleware_is_a_logged_problem_500_on_the_wire(wire, caplog):
    app = _app()

    def verify(*_: object) -> str:
        raise _Boom("kaput in the bearer check")

    app.state.sim.rt.tokens.verify = verify
    with wire.serving(app) as url:
        r = httpx.get(f"{url}/accounts", headers={"Authorization": "Bearer x"})
        _is_internal_error(r)
        _logged(caplog)


def test_an_exception_in_the_control_plane_is_a_logged_problem_500(wire, caplog):
    app = _app()

    def export() -> None:
        raise _Boom("kaput in export")

    app.state.sim.export = export
    with wire.serving(app) as url:
        _is_internal_error(httpx.get(f"{url}/_sim/export"))
        _logged(caplog)


def test_an_exception_after_the_response_is_logged_and_the_client_keeps_its_answer(wire, caplog):
    app = _app()

    def record(_: object) -> None:
        raise _Boom("kaput in the journal")

    app.state.sim.rt.journal.record = record
    with wire.serving(app) as url:
        r = httpx.get(f"{url}/_sim/health")
        assert r.status_code == 200
        deadline = time.monotonic() + 5
        while "kaput" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)  # the journal is written after the response left
        _logged(caplog)


@pytest.mark.anyio
async def test_in_process_clients_get_the_same_500(caplog):
    async with sim_client("crm", app=_app()) as c:
        _is_internal_error(await c.post("/boom"))
        _logged(caplog)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "extra",
    [
        [(b"content-length", b"14")],  # the fast path reads the body
        [(b"content-length", b"14"), (b"idempotency-key", b"k-1")],  # the middleware does
        [(b"transfer-encoding", b"chunked")],  # read before the route, up to the limit
    ],
    ids=["plain", "idempotent", "chunked"],
)
async def test_a_client_gone_mid_body_is_499_with_no_answer_and_no_traceback(extra, caplog):
    async with sim_client("crm") as c:
        token = c.headers["Authorization"].encode()
        app = c.app
        sent: list[dict] = []
        messages = iter(
            [
                {"type": "http.request", "body": b'{"name": "Ac', "more_body": True},
                {"type": "http.disconnect"},
            ]
        )

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/accounts", "raw_path": b"/accounts",
            "query_string": b"", "root_path": "", "server": ("127.0.0.1", 9600),
            "client": ("127.0.0.1", 50000),
            "headers": [
                (b"host", b"crm.test"), (b"authorization", token),
                (b"content-type", b"application/json"), *extra,
            ],
        }  # fmt: skip
        with caplog.at_level(logging.DEBUG):
            await app(scope, receive, send)
        assert sent == []  # nobody to answer
        assert not [r for r in caplog.records if r.exc_info], caplog.text
        journal = (await c.get("/_sim/journal")).json()
        entries = journal["data"] if isinstance(journal, dict) else journal
        assert [e["status"] for e in entries if e["path"] == "/accounts"] == [499]
        metrics = (await c.get("/metrics")).text
        assert 'status="499"' in metrics
        assert 'status="500"' not in metrics
        assert (await c.get("/accounts")).json()["data"] == []


def test_a_client_that_half_closes_mid_body_on_the_wire_is_a_quiet_499(wire, caplog):
    import socket

    from simulators.registry import create_app

    app = create_app("crm")
    with wire.serving(app) as url:
        token = wire.token_for(url)
        host, port = url.removeprefix("http://").split(":")
        request = (
            f"POST /accounts HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n"
        ).encode() + b'{"name":"Acm"'  # 13 of the 14 bytes announced
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(65536) == b""  # no answer: the server just closes
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            entries = httpx.get(f"{url}/_sim/journal").json()
            entries = entries["data"] if isinstance(entries, dict) else entries
            statuses = [e["status"] for e in entries if e["path"] == "/accounts"]
            if statuses:
                break
            time.sleep(0.01)
        assert statuses == [499]
        metrics = httpx.get(f"{url}/metrics").text
        assert 'status="499"' in metrics
        assert 'status="500"' not in metrics
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
