"""What the Pact verifier calls besides the provider: provider states and messages.

``StateRelay`` is a small local state-change endpoint: the verifier posts
``{"state", "params", "action"}`` to it; a set-up goes on to the simulator's
``POST /_sim/provider-states`` (its JSON answer feeds the pact's provider-state
values), a teardown empties the simulator (``POST /_sim/reset``) so the next
interaction starts clean.

``EventProducer`` answers message interactions with the simulator's real events:
after the states are set up it takes the newest event of the interaction's
``event_type`` from the pull feed (``GET /events``, docs/events.md) and returns the
envelope as the message. docs/contracts.md, "Message pacts".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from pact.types import Message

__all__ = ["EventProducer", "MessageKind", "StateRelay", "fetch_token"]

MessageKind = tuple[str, str]  # (system, event_type) of a message interaction's metadata
_FEED_PAGE = 1000


def fetch_token(url: str, client_id: str, client_secret: str) -> str:
    """A bearer token from ``url``/oauth/token (client credentials); ValueError if refused."""
    try:
        response = httpx.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": client_secret},
            timeout=10,
        )  # fmt: skip
    except httpx.HTTPError as exc:
        raise ValueError(f"{url}/oauth/token: {exc}") from None
    if response.status_code != 200:
        raise ValueError(
            f"{url}/oauth/token refused client {client_id!r} ({response.status_code}); "
            "check GOLIVE_CLIENT_ID / GOLIVE_CLIENT_SECRET"
        )
    return str(response.json()["access_token"])


def _problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    detail = body.get("detail") if isinstance(body, dict) else None
    errors = body.get("errors") if isinstance(body, dict) else None
    extra = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors or []
                      if isinstance(e, dict))  # fmt: skip
    return f"{response.status_code} {detail or body}" + (f" ({extra})" if extra else "")


class StateRelay:
    """A loopback state-change endpoint in front of one simulator's control plane."""

    def __init__(self, sim_url: str, admin_headers: Mapping[str, str] | None = None) -> None:
        self.sim_url = sim_url.rstrip("/")
        self.admin_headers = dict(admin_headers or {})
        self.errors: dict[str, str] = {}  # state name -> why its set-up failed
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "StateRelay is not started"
        return f"http://127.0.0.1:{self._server.server_port}/provider-states"

    def handle(self, body: dict[str, Any]) -> tuple[int, bytes]:
        """One state change: (status, JSON body) for the verifier."""
        state = str(body.get("state") or "")
        if body.get("action") == "teardown":
            self.reset()
            return 200, b"{}"
        if not state:  # the verifier's generic set-up, for interactions without a state
            return 200, b"{}"
        response = httpx.post(
            f"{self.sim_url}/_sim/provider-states",
            json={"state": state, "params": body.get("params") or {}, "action": "setup"},
            headers=self.admin_headers,
            timeout=30,
        )
        if response.status_code >= 400:
            self.errors[state] = f"provider state {state!r}: {_problem_text(response)}"
            return response.status_code, response.content
        return 200, response.content or b"{}"

    def reset(self) -> None:
        """Empty the simulator (the verification starts from nothing, as each interaction)."""
        response = httpx.post(f"{self.sim_url}/_sim/reset", headers=self.admin_headers,
                              timeout=30)  # fmt: skip
        if response.status_code >= 400:
            raise ValueError(f"POST {self.sim_url}/_sim/reset: {_problem_text(response)}")

    def __enter__(self) -> StateRelay:
        relay = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    status, payload = relay.handle(body if isinstance(body, dict) else {})
                except (ValueError, httpx.HTTPError) as exc:
                    status, payload = 500, json.dumps({"detail": str(exc)}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the verifier reports what matters."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="pact-state-relay")  # fmt: skip
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class EventProducer:
    """The message producer: a message interaction's newest matching event, from the feed."""

    def __init__(
        self, base_url: str, headers: Mapping[str, str], kinds: Mapping[str, MessageKind]
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)  # the same Authorization as the HTTP interactions
        self.kinds = dict(kinds)
        self.errors: dict[str, str] = {}  # description -> why no message was produced

    def newest(self, event_type: str) -> dict[str, Any] | None:
        """The newest event of ``event_type`` on the feed, or None."""
        last: dict[str, Any] | None = None
        params: dict[str, Any] = {"type": event_type, "limit": _FEED_PAGE}
        with httpx.Client(headers=self.headers, timeout=30) as c:
            while True:
                response = c.get(f"{self.base_url}/events", params=params)
                if response.status_code != 200:
                    raise LookupError(f"GET {self.base_url}/events: {_problem_text(response)}")
                page = response.json()
                if page.get("data"):
                    last = page["data"][-1]
                if not page.get("next_cursor"):
                    return last
                params["after"] = page["next_cursor"]

    def __call__(self, name: str, metadata: dict[str, Any] | None = None) -> Message:
        kind = self.kinds.get(name)
        try:
            if kind is None:
                raise LookupError(
                    f"message {name!r} has no metadata {{'system', 'event_type'}}: "
                    "docs/contracts.md, message pacts"
                )
            system, event_type = kind
            event = self.newest(event_type)
            if event is None:
                states = [s.get("name") for s in (metadata or {}).get("providerStates") or []]
                raise LookupError(
                    f"{system} emitted no {event_type} event after the provider state(s) "
                    f"{states}: the states do not make it happen"
                )
        except (LookupError, httpx.HTTPError) as exc:
            self.errors[name] = str(exc)
            raise
        return {
            "contents": json.dumps(event).encode(),
            "metadata": {"system": event.get("system", system), "event_type": event.get("type")},
            "content_type": "application/json",
        }
