"""Checks on a request's envelope (headers, body size, media type, origin) before it runs.

``SimMiddleware`` applies them from the headers it reads in its one pass; each refusal
is problem+json with a stable code, and nothing here parses a body. The limits and
codes are the contract described in ``docs/limits.md``.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from simulators.kit.errors import SimError

__all__ = [
    "JOURNAL_PATH_MAX",
    "MAX_CORRELATION_ID_LENGTH",
    "BodyTooLarge",
    "ForeignOrigin",
    "InvalidHeader",
    "UnsupportedMediaType",
    "clipped",
    "is_json",
    "is_loopback_origin",
    "is_seed_type",
    "is_visible_ascii",
    "media_type",
    "read_body",
    "replaying",
]

MAX_CORRELATION_ID_LENGTH = 200
JOURNAL_PATH_MAX = 2048
# RFC 9110 VCHAR: what vendors accept in an id header (Stripe's Idempotency-Key,
# Zendesk's X-Request-Id); no spaces, controls or non-ASCII bytes.
_VCHAR = bytes(range(0x21, 0x7F))
_LOOPBACK_HOSTS = (b"127.0.0.1", b"localhost", b"[::1]")


class InvalidHeader(SimError):
    status = 400

    def __init__(self, header: str, detail: str) -> None:
        super().__init__("invalid_header", detail, [{"field": header, "message": detail}])


class BodyTooLarge(SimError):
    status = 413

    def __init__(self, limit: int) -> None:
        # Connection: close makes uvicorn drop the connection after the answer
        # instead of reading (and discarding) the rest of a body it refused.
        super().__init__(
            "body_too_large",
            f"the request body is larger than this endpoint's limit of {limit} bytes",
            headers={"Connection": "close"},
        )


class UnsupportedMediaType(SimError):
    status = 415

    def __init__(self, accepted: str) -> None:
        super().__init__(
            "unsupported_media_type",
            f"send the body as {accepted}",
            [{"field": "Content-Type", "message": f"expected {accepted}"}],
        )


class ForeignOrigin(SimError):
    status = 403

    def __init__(self) -> None:
        # A web page may POST to loopback without a preflight; the control plane has no
        # token on loopback, so only pages served from loopback may drive it.
        super().__init__(
            "foreign_origin",
            "control-plane writes are only accepted from loopback origins",
            [{"field": "Origin", "message": "not http(s)://127.0.0.1, localhost or [::1]"}],
        )


def is_visible_ascii(value: bytes) -> bool:
    """True when every byte is visible ASCII (0x21-0x7E)."""
    return bool(value) and not value.translate(None, _VCHAR)


def clipped(value: bytes, limit: int) -> str:
    """``value`` as text, cut to ``limit`` characters (marked with an ellipsis)."""
    if len(value) <= limit:
        return value.decode("latin-1")
    return value[:limit].decode("latin-1") + "…"


def media_type(content_type: bytes) -> bytes:
    return content_type.split(b";", 1)[0].strip().lower()


def is_json(media: bytes) -> bool:
    """``application/json`` or a ``+json`` type, as FastAPI reads bodies."""
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def is_seed_type(media: bytes) -> bool:
    """JSON, or one of the names NDJSON goes by (``application/x-ndjson``, ``jsonl``)."""
    return is_json(media) or b"ndjson" in media or b"jsonl" in media


def is_loopback_origin(origin: bytes) -> bool:
    """True for ``http(s)://127.0.0.1``, ``localhost`` or ``[::1]``, with any port."""
    if origin.startswith(b"http://"):
        rest = origin[7:]
    elif origin.startswith(b"https://"):
        rest = origin[8:]
    else:
        return False
    for host in _LOOPBACK_HOSTS:
        if rest.startswith(host):
            port = rest[len(host) :]
            return not port or (port[:1] == b":" and port[1:].isdigit() and len(port) <= 6)
    return False


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, or BodyTooLarge as soon as it passes ``limit`` bytes.

    A client that goes away before the body ends raises ClientDisconnect, as
    Starlette's ``Request.body()`` does: the part that arrived is not a request.
    """
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        body += message.get("body", b"")
        if len(body) > limit:
            raise BodyTooLarge(limit)
        if not message.get("more_body", False):
            return bytes(body)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app ``body`` (already read) and then waits on the real one."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
