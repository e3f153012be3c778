"""One pure-ASGI middleware for the cross-cutting work of every request.

Correlation id, envelope checks (header bounds, body size, media type, origin),
bearer auth, Idempotency-Key, the unit of work of each request (``kit/uow.py``:
writes commit before their response leaves, reads may not write), journal and
metrics in a single layer: Starlette's
BaseHTTPMiddleware costs a task per request, and this path decides how many
requests per second a simulator serves.
"""

from __future__ import annotations

import hashlib
import json
import time

from pydantic_core import from_json
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.kit import uow
from simulators.kit.auth import secrets_match
from simulators.kit.context import EXECUTING, FAULT, current_client_id, current_correlation_id
from simulators.kit.durable import StorageFailed, StorageStopped
from simulators.kit.envelope import (
    JOURNAL_PATH_MAX,
    MAX_CORRELATION_ID_LENGTH,
    BodyTooLarge,
    ForeignOrigin,
    InvalidHeader,
    UnsupportedMediaType,
    clipped,
    is_json,
    is_loopback_origin,
    is_seed_type,
    is_visible_ascii,
    media_type,
    read_body,
    replaying,
)
from simulators.kit.errors import Invalid, SimError, problem_response
from simulators.kit.idempotency import MAX_KEY_LENGTH, IdempotencyStore
from simulators.kit.runtime import Runtime

__all__ = ["CLIENT_CLOSED_REQUEST", "PUBLIC_PREFIXES", "SimMiddleware"]

# Paths that need no bearer token (the control plane has its own admin token check).
# nginx's status for a request the client closed before it was answered (never sent).
CLIENT_CLOSED_REQUEST = 499
PUBLIC_PREFIXES = ("/oauth/token", "/openapi.json", "/docs", "/redoc", "/metrics", "/_sim/")
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Requests that are not the SUT's business: the control plane and metrics scrapes.
_NOT_BUSINESS = ("/_sim/", "/metrics")
_REPLAY_HEADERS = (b"idempotent-replayed", b"true")
_SEED_PATH = "/_sim/seed"
_UNMATCHED = "(unmatched)"
_TEMPLATE_CACHE_MAX = 4096
_TEMPLATE_CACHE_PATH_MAX = 256
# Canonical JSON for the Idempotency-Key fingerprint: the same document spelled with
# other spacing, key order or escapes is the same request.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_BAD_CORRELATION = (
    f"X-Correlation-Id must be 1 to {MAX_CORRELATION_ID_LENGTH} visible ASCII characters"
)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _fingerprint(scope: Scope, body: bytes) -> bytes:
    try:
        canonical = _CANONICAL.encode(from_json(body)).encode("ascii")
    except ValueError:  # not JSON (or empty): the bytes as sent
        canonical = body
    request_line = f"{scope['method']} {scope['path']}?".encode() + scope["query_string"]
    return hashlib.sha256(request_line + b"\n" + canonical).digest()


class SimMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self._templates: dict[tuple[str, str], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rt = self.rt
        method: str = scope["method"]
        path: str = scope["path"]
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        authorization = correlation = idem = content_type = length = origin = None
        chunked = False
        for key, value in headers:  # one pass over the headers this layer reads
            if key == b"authorization":
                authorization = value
            elif key == b"content-type":
                content_type = value
            elif key == b"content-length":
                length = value
            elif key == b"x-correlation-id":
                correlation = value
            elif key == b"idempotency-key":
                idem = value
            elif key == b"transfer-encoding":
                chunked = True
            elif key == b"origin":
                origin = value
        correlation_id: str | None = None
        # The journal keeps bounded copies: a 1 MB header must not become 1 MB per entry.
        idem_key = None
        if idem is not None and method in _MUTATING:
            idem_key = idem[: MAX_KEY_LENGTH + 1].decode("latin-1")
        status_box = [500]
        # When the last byte of the answer went to the socket: the span the journal and the
        # metrics keep ends there, not after what runs later (or a pause of the process),
        # which the client does not wait for (docs/calibration.md reads spans).
        answered: list[float] = []
        # Headers the limits answer with (RateLimit-*, Sforce-Limit-Info), once admitted.
        limit_headers: list[tuple[bytes, bytes]] | None = None
        replayed = False
        client_id: str | None = None
        writing = method in _MUTATING
        # A read runs in the read-only unit: any write in it is a bug, and a 500.
        read_token = None if writing else uow.CURRENT.set(uow.READ_ONLY)
        # On disk (kit/durable.py) a read's answer waits until every commit before it is
        # durable: a client never sees what a crash could still lose. Writes wait in
        # _transact. In memory this is one None check.
        durable = rt.durable
        hold = durable is not None and not writing
        # Activity the estate clock's settle waits on (docs/control-plane.md).
        business = not path.startswith(_NOT_BUSINESS)
        if business:
            rt.in_flight += 1
            rt.last_request_at = time.monotonic()

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                if hold and durable is not None and durable.pending:
                    await durable.barrier()
                status_box[0] = message["status"]
                if correlation_id is not None:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-correlation-id", correlation),
                    ]
                if limit_headers:
                    message["headers"] = [*message.get("headers", []), *limit_headers]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered.append(time.perf_counter())

        try:
            if durable is not None and durable.failure is not None and path != "/metrics":
                hold = False
                raise StorageStopped(f"{type(durable.failure).__name__}: {durable.failure}")
            if correlation is not None:
                if len(correlation) > MAX_CORRELATION_ID_LENGTH or not is_visible_ascii(
                    correlation
                ):
                    raise InvalidHeader("X-Correlation-Id", _BAD_CORRELATION)
                correlation_id = correlation.decode("ascii")
            public = path.startswith(PUBLIC_PREFIXES) or path == "/"
            control = public and path.startswith("/_sim/")
            if (
                control
                and rt.config.admin_token is not None
                and not secrets_match(_header(headers, b"x-sim-admin-token"), rt.config.admin_token)
            ):
                raise _Forbidden()
            limit = 0
            if method in _MUTATING:
                if control and origin is not None and not is_loopback_origin(origin):
                    raise ForeignOrigin()
                limit = self._check_body(path, public, control, length, chunked, content_type)
                if chunked:  # no Content-Length: read it here, up to the limit, then hand it on
                    receive = replaying(await read_body(receive, limit), receive)
            if public:
                if writing:
                    await self._transact(scope, receive, send_wrapped)  # control-plane writes
                else:
                    await self.app(scope, receive, send_wrapped)
                return
            client_id = rt.tokens.verify(
                authorization.decode("latin-1") if authorization is not None else None,
                time.time(),
            )
            if rt.limits.active:
                limit_headers = rt.limits.admit(client_id)  # 429/403 when over a limit
            corr_token = current_correlation_id.set(correlation_id)
            client_token = current_client_id.set(client_id)
            try:
                if not writing:
                    await self.app(scope, receive, send_wrapped)
                elif idem_key is None:
                    await self._transact(scope, receive, send_wrapped)
                else:
                    replayed = await self._idempotent(
                        scope, receive, send_wrapped, client_id, idem_key, limit
                    )
            finally:
                current_correlation_id.reset(corr_token)
                current_client_id.reset(client_token)
                if limit_headers is not None:
                    rt.limits.release()
        except ClientDisconnect:
            # The client went away before its request ended: nobody to answer, and no
            # fault of the simulator's. Recorded as 499, nginx's "client closed request".
            status_box[0] = CLIENT_CLOSED_REQUEST
        except StorageFailed as exc:
            # The commit of this answer (or of one before it) did not reach the disk.
            hold = False
            response = problem_response(
                500, "storage_failed",
                f"the state directory refused the commit ({exc}); the change may be lost",
            )  # fmt: skip
            await response(scope, receive, send_wrapped)
        except SimError as exc:
            response = problem_response(exc.status, exc.code, exc.detail, exc.errors, exc.headers)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="golive"'
            await response(scope, receive, send_wrapped)
        finally:
            if business:
                rt.in_flight -= 1
                rt.last_request_at = time.monotonic()
            if read_token is not None:
                uow.CURRENT.reset(read_token)
            elapsed = (answered[0] if answered else time.perf_counter()) - started
            route = scope.get("route")
            template = getattr(route, "path", None) or self._template(scope, method, path)
            rt.metrics.observe(method, template, status_box[0], elapsed)
            if rt.journal.enabled:
                if correlation is not None and correlation_id is None:
                    journal_cid: str | None = clipped(correlation, MAX_CORRELATION_ID_LENGTH)
                else:
                    journal_cid = correlation_id
                if len(path) > JOURNAL_PATH_MAX:
                    path = path[:JOURNAL_PATH_MAX] + "…"
                rt.journal.record((
                    rt.clock.timestamp(), client_id, method, path, status_box[0],
                    round(elapsed * 1000, 3), journal_cid, idem_key, replayed,
                    scope.get(FAULT), round(time.time() - elapsed, 6),
                ))  # fmt: skip

    def _check_body(
        self,
        path: str,
        public: bool,
        control: bool,
        length: bytes | None,
        chunked: bool,
        content_type: bytes | None,
    ) -> int:
        """Refuse a write's body by its headers alone (413, 415); returns its size limit."""
        config = self.rt.config
        limit = config.max_seed_body_bytes if path == _SEED_PATH else config.max_body_bytes
        if length is not None:
            if not length.isdigit():
                raise InvalidHeader("Content-Length", "Content-Length must be a number of bytes")
            size = int(length)
            if size > limit:
                raise BodyTooLarge(limit)
            has_body = size > 0
        else:
            has_body = chunked
        # The exact spelling nearly every client sends skips the parse.
        if has_body and (control or not public) and content_type != b"application/json":
            media = media_type(content_type) if content_type is not None else b""
            if path == _SEED_PATH:
                if not is_seed_type(media):
                    raise UnsupportedMediaType("application/json or application/x-ndjson")
            elif not is_json(media):
                raise UnsupportedMediaType("application/json")
        return limit

    def _template(self, scope: Scope, method: str, path: str) -> str:
        """The route template of a request answered before routing (401, replay, 413 ...)."""
        cached = self._templates.get((method, path))
        if cached is not None:
            return cached
        template = _UNMATCHED
        app = scope.get("app")
        for route in getattr(getattr(app, "router", None), "routes", ()):
            regex = getattr(route, "path_regex", None)
            if regex is None or not regex.match(path):
                continue
            methods = getattr(route, "methods", None)
            if template == _UNMATCHED:
                template = route.path
            if not methods or method in methods:
                template = route.path
                break
        if len(path) <= _TEMPLATE_CACHE_PATH_MAX:  # long paths would make the cache large
            if len(self._templates) >= _TEMPLATE_CACHE_MAX:
                self._templates.clear()  # paths carry ids: keep the cache bounded
            self._templates[(method, path)] = template
        return template

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, client_id: str, key: str, limit: int
    ) -> bool:
        """Run the request once per key; returns True when the answer was a replay."""
        rt = self.rt
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Invalid(
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                [{"field": "Idempotency-Key", "message": "bad length"}],
            )
        if not is_visible_ascii(key.encode("latin-1")):
            # Keys are compared as sent; bytes outside visible ASCII (spaces, controls,
            # UTF-8) are read differently by different HTTP stacks.
            raise Invalid(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII characters (0x21 to 0x7E) only",
                [{"field": "Idempotency-Key", "message": "not visible ASCII"}],
            )
        body = await read_body(receive, limit)
        fingerprint = _fingerprint(scope, body)
        now = rt.clock.timestamp()
        saved = rt.idempotency.lookup(client_id, key, now)
        if saved is not None:
            if saved.fingerprint != fingerprint:
                raise _Reused()
            if saved.in_flight:
                raise _InProgress()
            durable = rt.durable
            if durable is not None and durable.pending:
                await durable.barrier()  # the saved answer's commit may not be on disk yet
            await send({
                "type": "http.response.start", "status": saved.status,
                "headers": [*(saved.headers or []), _REPLAY_HEADERS],
            })  # fmt: skip
            await send({"type": "http.response.body", "body": saved.body})
            rt.metrics.inc("idempotent_replays")
            return True

        rt.idempotency.begin(client_id, key, fingerprint, now)
        await self._transact(scope, replaying(body, receive), send, (client_id, key))
        return False

    async def _transact(
        self, scope: Scope, receive: Receive, send: Send, idem: tuple[str, str] | None = None
    ) -> None:
        """Run a write in one transaction that commits before its response is sent.

        The response is held until its last body part: then a refusal's writes are
        undone, the Idempotency-Key record joins the transaction, and the commit
        happens; only then does the response leave (docs/api.md, transactions).
        """
        if not self.rt.config.transactions:
            await self._without_transaction(scope, receive, send, idem)
            return
        unit = uow.UnitOfWork(self.rt)
        token = uow.CURRENT.set(unit)
        held: list[Message] = []

        async def commit_then_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start" or (
                kind == "http.response.body" and message.get("more_body")
            ):
                held.append(message)
                return
            if kind == "http.response.body":
                held.append(message)
                self._settle(unit, scope, held, idem)
                durable = self.rt.durable
                if durable is not None and durable.pending:
                    await durable.barrier()  # this commit, and every one before it
                for part in held:
                    await send(part)
                held.clear()
                return
            await send(message)

        try:
            await self.app(scope, receive, commit_then_send)
        except BaseException:
            if not unit.closed:
                unit.rollback()
                if idem is not None:
                    self.rt.idempotency.abandon(*idem)
            raise
        finally:
            uow.CURRENT.reset(token)
        if not unit.closed:  # the app ended without a whole response: nothing to keep
            unit.rollback()
            if idem is not None:
                self.rt.idempotency.abandon(*idem)

    async def _without_transaction(
        self, scope: Scope, receive: Receive, send: Send, idem: tuple[str, str] | None
    ) -> None:
        """A write with transactions switched off: for measuring what they cost only.

        Changes apply as the endpoint makes them and stay on a refusal; the response
        leaves as it is made; the Idempotency-Key record is saved after it, as a plain
        dict store behind a web framework would (docs/benchmarks.md, target 4).
        """
        parts: list[Message] = []

        async def keep(message: Message) -> None:
            parts.append(message)
            await send(message)

        try:
            await self.app(scope, receive, keep if idem is not None else send)
        except BaseException:
            if idem is not None:
                self.rt.idempotency.abandon(*idem)
            raise
        if idem is None:
            return
        status = parts[0].get("status", 500) if parts else 500
        if parts and scope.get(EXECUTING) and IdempotencyStore.saves(status):
            body = b"".join(part.get("body", b"") for part in parts[1:])
            self.rt.idempotency.finish(*idem, status, parts[0].get("headers", []), body)
        else:
            self.rt.idempotency.abandon(*idem)

    def _settle(
        self,
        unit: uow.UnitOfWork,
        scope: Scope,
        held: list[Message],
        idem: tuple[str, str] | None,
    ) -> None:
        """Roll back a refusal, add the Idempotency-Key record, commit."""
        if unit.doomed:
            unit.rollback()
        if idem is not None:
            status: int = held[0]["status"]
            # As at Stripe, a key is saved only once its endpoint ran (not for a body that
            # failed validation), and not for the answers a retry should run again for.
            if scope.get(EXECUTING) and IdempotencyStore.saves(status):
                headers = held[0].get("headers", [])  # the response's own list, not changed
                if len(held) == 2:
                    body = held[1].get("body", b"")
                else:
                    body = b"".join(part.get("body", b"") for part in held[1:])
                unit.save_response(*idem, status, headers, body)
            else:
                self.rt.idempotency.abandon(*idem)
        unit.commit()


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
            "this simulator's control plane needs X-Sim-Admin-Token (it is bound beyond "
            "loopback or was started with GOLIVE_SIM_ADMIN_TOKEN)",
        )
