"""One pure-ASGI middleware for the cross-cutting work of every request.

Correlation id, bearer auth, Idempotency-Key, journal and metrics in a single
layer: Starlette's BaseHTTPMiddleware costs a task per request, and this path
decides how many requests per second a simulator serves.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.kit.auth import secrets_match
from simulators.kit.context import current_client_id, current_correlation_id
from simulators.kit.errors import Invalid, SimError, problem_response
from simulators.kit.idempotency import MAX_KEY_LENGTH
from simulators.kit.runtime import Runtime

__all__ = ["PUBLIC_PREFIXES", "SimMiddleware"]

# Paths that need no bearer token (the control plane has its own admin token check).
PUBLIC_PREFIXES = ("/oauth/token", "/openapi.json", "/docs", "/redoc", "/metrics", "/_sim/")
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REPLAY_HEADERS = (b"idempotent-replayed", b"true")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


class SimMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rt = self.rt
        method: str = scope["method"]
        path: str = scope["path"]
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        correlation_id = idem_key = authorization = None
        for key, value in headers:  # one pass over the headers this layer reads
            if key == b"authorization":
                authorization = value.decode("latin-1")
            elif key == b"x-correlation-id":
                correlation_id = value.decode("latin-1")
            elif key == b"idempotency-key" and method in _MUTATING:
                idem_key = value.decode("latin-1")
        status_box = [500]
        replayed = False
        client_id: str | None = None

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                if correlation_id is not None:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-correlation-id", correlation_id.encode("latin-1")),
                    ]
            await send(message)

        try:
            if path.startswith(PUBLIC_PREFIXES) or path == "/":
                if path.startswith("/_sim/") and rt.config.admin_token is not None:
                    given = _header(headers, b"x-sim-admin-token")
                    if not secrets_match(given, rt.config.admin_token):
                        raise _Forbidden()
                await self.app(scope, receive, send_wrapped)
                return
            client_id = rt.tokens.verify(authorization, time.time())
            corr_token = current_correlation_id.set(correlation_id)
            client_token = current_client_id.set(client_id)
            try:
                if idem_key is None:
                    await self.app(scope, receive, send_wrapped)
                else:
                    replayed = await self._idempotent(
                        scope, receive, send_wrapped, client_id, idem_key
                    )
            finally:
                current_correlation_id.reset(corr_token)
                current_client_id.reset(client_token)
        except SimError as exc:
            response = problem_response(exc.status, exc.code, exc.detail, exc.errors, exc.headers)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="golive"'
            await response(scope, receive, send_wrapped)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            rt.metrics.observe(method, template, status_box[0], elapsed)
            rt.journal.record((
                rt.clock.timestamp(), client_id, method, path, status_box[0],
                round(elapsed * 1000, 3), correlation_id, idem_key, replayed,
            ))  # fmt: skip

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, client_id: str, key: str
    ) -> bool:
        """Run the request once per key; returns True when the answer was a replay."""
        rt = self.rt
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Invalid(
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                [{"field": "Idempotency-Key", "message": "bad length"}],
            )
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + bytes(body)
        ).digest()
        now = rt.clock.timestamp()
        saved = rt.idempotency.lookup(client_id, key, now)
        if saved is not None:
            if saved.fingerprint != fingerprint:
                raise _Reused()
            if saved.in_flight:
                raise _InProgress()
            await send({
                "type": "http.response.start", "status": saved.status,
                "headers": [*(saved.headers or []), _REPLAY_HEADERS],
            })  # fmt: skip
            await send({"type": "http.response.body", "body": saved.body})
            rt.metrics.inc("idempotent_replays")
            return True

        rt.idempotency.begin(client_id, key, fingerprint, now)
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    (k, v) for k, v in message.get("headers", []) if k != b"x-correlation-id"
                ]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            rt.idempotency.abandon(client_id, key)
            raise
        rt.idempotency.finish(
            client_id, key, captured["status"], captured["headers"], bytes(captured["body"])
        )
        return False


class _Reused(SimError):
    status = 422

    def __init__(self) -> None:
        super().__init__(
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request body; use a new key",
        )


class _InProgress(SimError):
    status = 409

    def __init__(self) -> None:
        super().__init__(
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still being processed; retry later",
            headers={"Retry-After": "1"},
        )


class _Forbidden(SimError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "admin_token_required",
            "the control plane of a simulator bound beyond loopback needs X-Sim-Admin-Token",
        )
