"""The fault engine: one pure-ASGI layer that breaks requests on purpose (docs/faults.md).

It sits outermost below ``LastResort``, outside the unit of work, so it sees a
write's response only after the write committed, and can delay, trickle or withhold
it. With no rule set it costs one check per request. The control plane and
``/metrics`` are never faulted: they are how a test removes a fault and watches it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.kit.context import FAULT
from simulators.kit.envelope import (
    JOURNAL_PATH_MAX,
    MAX_CORRELATION_ID_LENGTH,
    clipped,
    is_visible_ascii,
)
from simulators.kit.errors import SimError, problem_response
from simulators.kit.fault_rules import ActiveRule
from simulators.kit.idempotency import MAX_KEY_LENGTH
from simulators.kit.runtime import Runtime

__all__ = ["DROPPED", "EXEMPT_PREFIXES", "FAULT_HEADER", "ConnectionDropped", "FaultEngine"]

FAULT_HEADER = b"x-golive-fault"
EXEMPT_PREFIXES = ("/_sim/", "/metrics")
# nginx's status for a connection closed without a response (journal and metrics only).
DROPPED = 444
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HOLD_MAX_S = 600.0  # a lost response in timeout mode waits this long for the client
_DISCONNECT_WAIT_S = 5.0
_SLOW_BODY_PIECES = 10


class ConnectionDropped(BaseException):
    """Raised where no connection can be dropped (in process, ``httpx.ASGITransport``).

    A BaseException, so no error handler turns it into a response: the in-process
    client sees an exception, as a socket client sees a closed connection.
    """


def _transport(receive: Receive) -> Any:
    """The connection's transport when uvicorn serves the request, else None.

    uvicorn hands the app its request cycle's bound ``receive``; the cycle holds the
    asyncio transport, the only way to close the connection without an answer
    (uvicorn answers 500 to an app that raises or returns without a response).
    """
    return getattr(getattr(receive, "__self__", None), "transport", None)


async def _wait_disconnect(receive: Receive, timeout_s: float) -> bool:
    """Read until the client goes away; False when ``timeout_s`` passed first."""

    async def drain() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(drain(), timeout_s)
    except TimeoutError:
        return False
    return True


class FaultEngine:
    """Applies the first rule of ``runtime.faults`` that fires for a request."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self.book = runtime.faults
        self._templates: dict[tuple[str, str], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.book.rules or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        rule = None
        if not path.startswith(EXEMPT_PREFIXES):
            client = self._client_id(scope) if self.book.needs_client else None
            rule = self.book.pick(scope["method"], path, client)
        if rule is None:
            await self.app(scope, receive, send)
            return
        scope[FAULT] = rule.id
        kind = rule.kind
        if kind == "latency":
            await self.app(scope, receive, _delayed(send, rule.delay_s()))
        elif kind == "slow_body":
            await self.app(scope, receive, _trickled(send, rule.delay_s()))
        elif kind == "lost_response":
            await self._lose(scope, receive, send, rule)
        else:
            await self._answer(scope, receive, send, rule)

    # -- answered by the engine: the request never reaches the simulator --------------

    async def _answer(self, scope: Scope, receive: Receive, send: Send, rule: ActiveRule) -> None:
        started = time.perf_counter()
        if rule.kind == "drop":
            self._record(scope, DROPPED, started, rule)
            transport = _transport(receive)
            if transport is None:
                raise ConnectionDropped(f"fault rule {rule.id} dropped the connection")
            transport.close()
            await _wait_disconnect(receive, _DISCONNECT_WAIT_S)
            return
        now = self.rt.clock.timestamp()
        headers = {"X-Golive-Fault": rule.kind}
        if rule.kind == "error":
            status, code = rule.error()
            detail = f"injected error (fault rule {rule.id})"
        elif rule.kind == "rate_limit":
            status, code = 429, "rate_limit_exceeded"
            wait = rule.retry_after_s(now)
            limit = str(max(1, round(rule.burst)))
            # The shape of the simulators' own throttling (kit/limits.py): Stripe's and
            # Zendesk's 429 with Retry-After and the RateLimit-* fields.
            headers.update({"Retry-After": str(wait), "RateLimit-Limit": limit,
                            "RateLimit-Remaining": "0", "RateLimit-Reset": str(wait)})  # fmt: skip
            detail = f"too many requests; retry after {wait} s (fault rule {rule.id})"
        else:  # outage
            status, code = 503, "service_unavailable"
            wait = rule.retry_after_s(now)
            headers["Retry-After"] = str(wait)
            detail = f"{self.rt.system} is unavailable; retry after {wait} s (fault rule {rule.id})"
        correlation = self._correlation(scope)
        if correlation is not None:
            headers["X-Correlation-Id"] = correlation
        response = problem_response(status, code, detail, headers=headers)
        await response(scope, receive, send)
        self._record(scope, status, started, rule)

    # -- the request runs and commits; the client never learns the outcome ------------

    async def _lose(self, scope: Scope, receive: Receive, send: Send, rule: ActiveRule) -> None:
        async def withhold(message: Message) -> None:
            return None

        await self.app(scope, receive, withhold)  # committed once this returns
        if rule.params.get("mode", "error") == "timeout":
            transport = _transport(receive)
            if transport is None:
                raise ConnectionDropped(f"fault rule {rule.id} withheld the response")
            if not await _wait_disconnect(receive, _HOLD_MAX_S):
                transport.close()
                await _wait_disconnect(receive, _DISCONNECT_WAIT_S)
            return
        response = problem_response(
            500, "lost_response",
            f"the request was processed but its response was lost (fault rule {rule.id}); "
            "retry with the same Idempotency-Key to learn the outcome",
            headers={"X-Golive-Fault": rule.kind},
        )  # fmt: skip
        await response(scope, receive, send)

    # -- journal and metrics of the requests the engine answered ----------------------

    def _client_id(self, scope: Scope) -> str | None:
        for key, value in scope["headers"]:
            if key == b"authorization":
                try:
                    return self.rt.tokens.verify(value.decode("latin-1"), time.time())
                except SimError:
                    return None
        return None

    @staticmethod
    def _correlation(scope: Scope) -> str | None:
        for key, value in scope["headers"]:
            if key == b"x-correlation-id":
                if len(value) <= MAX_CORRELATION_ID_LENGTH and is_visible_ascii(value):
                    return str(value.decode("ascii"))
                return clipped(value, MAX_CORRELATION_ID_LENGTH)
        return None

    def _record(self, scope: Scope, status: int, started: float, rule: ActiveRule) -> None:
        rt = self.rt
        method: str = scope["method"]
        path: str = scope["path"]
        idem = None
        if method in _MUTATING:
            for key, value in scope["headers"]:
                if key == b"idempotency-key":
                    idem = value[: MAX_KEY_LENGTH + 1].decode("latin-1")
        elapsed = time.perf_counter() - started
        rt.metrics.observe(method, self._template(scope, method, path), status, elapsed)
        shown = path if len(path) <= JOURNAL_PATH_MAX else path[:JOURNAL_PATH_MAX] + "…"
        rt.journal.record((
            rt.clock.timestamp(), self._client_id(scope), method, shown, status,
            round(elapsed * 1000, 3), self._correlation(scope), idem, False, rule.id,
            round(time.time() - elapsed, 6),
        ))  # fmt: skip

    def _template(self, scope: Scope, method: str, path: str) -> str:
        """The route template a refused request was meant for (metrics label)."""
        cached = self._templates.get((method, path))
        if cached is not None:
            return cached
        template = "(unmatched)"
        router = getattr(scope.get("app"), "router", None)
        for route in getattr(router, "routes", ()):
            regex = getattr(route, "path_regex", None)
            if regex is not None and regex.match(path):
                template = route.path
                if method in (getattr(route, "methods", None) or ()):
                    break
        if len(self._templates) >= 4096:
            self._templates.clear()  # paths carry ids: keep the cache bounded
        self._templates[(method, path)] = template
        return template


def _delayed(send: Send, delay_s: float) -> Send:
    """``send`` that holds the response start for ``delay_s`` (after the commit)."""

    async def delayed(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(delay_s)
            message["headers"] = [*message.get("headers", []), (FAULT_HEADER, b"latency")]
        await send(message)

    return delayed


def _trickled(send: Send, spread_s: float) -> Send:
    """``send`` that passes the headers at once and spreads the body over ``spread_s``."""
    parts: list[bytes] = []

    async def trickled(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (FAULT_HEADER, b"slow_body")]
            await send(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        parts.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(parts)
        pieces = max(1, min(len(body), _SLOW_BODY_PIECES))
        size = -(-len(body) // pieces) if body else 0
        for i in range(pieces):
            await asyncio.sleep(spread_s / pieces)
            chunk = body[i * size : (i + 1) * size]
            await send({"type": "http.response.body", "body": chunk, "more_body": i < pieces - 1})

    return trickled
