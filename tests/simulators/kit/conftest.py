"""A simulator app behind a real uvicorn on a free loopback port, for wire-level tests."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests._serve import serving


def token_for(url: str) -> str:
    response = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "golive",
              "client_secret": "golive-secret"},
    )  # fmt: skip
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def raw_exchange(url: str, request: bytes, timeout_s: float = 5.0) -> bytes:
    """Send ``request`` as raw bytes and read until the server closes or stops sending."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


class Wire:
    """What wire-level tests need: a real server, a token, raw bytes on a socket."""

    serving = staticmethod(serving)
    token_for = staticmethod(token_for)
    raw_exchange = staticmethod(raw_exchange)


@pytest.fixture
def wire() -> type[Wire]:
    return Wire
