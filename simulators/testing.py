"""In-process clients for tests: a simulator app behind ``httpx.ASGITransport``, signed in.

Used by golive's own tests and by the pytest plugin; no sockets, no threads.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from simulators.kit.credentials import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from simulators.kit.runtime import SimConfig
from simulators.kit.state import SystemState
from simulators.registry import create_app

__all__ = [
    "DEFAULT_CLIENT",
    "SimHarness",
    "fetch_token",
    "free_base_port",
    "sim_client",
    "state_of",
]

DEFAULT_CLIENT = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


async def fetch_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def state_of(app: FastAPI) -> SystemState:
    """The business state behind an app, for assertions that look past the API."""
    state: SystemState = app.state.sim
    return state


@asynccontextmanager
async def sim_client(
    system: str, config: SimConfig | None = None, app: FastAPI | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An AsyncClient on a fresh in-process simulator, with a bearer token already set."""
    app = app or create_app(system, config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{system}.test") as client:
        client.headers["Authorization"] = "Bearer " + await fetch_token(client, *DEFAULT_CLIENT)
        client.app = app  # type: ignore[attr-defined]
        yield client


class SimHarness:
    """Shorthands for arranging one in-process simulator and asserting on its answers.

    ``await h.call("POST", "/accounts", 201, json=...)`` returns the body after checking
    the status; ``await h.refused(..., 422, "unknown_account")`` checks a problem+json
    refusal and its code. Subclass it per system to add arranging helpers.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.c = client
        self.state: Any = state_of(client.app)  # type: ignore[attr-defined]

    async def call(self, method: str, url: str, status: int, **kwargs: Any) -> Any:
        response = await self.c.request(method, url, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    async def refused(self, method: str, url: str, status: int, code: str, **kwargs: Any) -> Any:
        response = await self.c.request(method, url, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == code, response.text
        return body


def free_base_port(span: int = 5) -> int:
    """A loopback port P such that P .. P+span-1 are all free now (for ``base_port=``)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + span >= 65000:
            continue
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + span):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range")
