"""How every load user talks to the five systems: as a careful integration client would.

Each call carries a bearer token (renewed before it expires), an ``X-Correlation-Id``
shared by the steps of one business transaction, and an ``Idempotency-Key`` on every
write, reused on retries; 429 and 503 are retried after ``Retry-After``. Responses that
carry the fault marker header ``X-Golive-Fault`` are recorded under the request name
plus ``FAULT_SUFFIX``, so golive counts injected faults apart from the system's own.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any
from urllib.parse import urlencode

import gevent
from locust.contrib.fasthttp import FastHttpSession

from loadtests.auth import TokenCache

__all__ = ["FAULT_HEADER", "FAULT_SUFFIX", "Api", "CallFailed", "new_correlation_id"]

log = logging.getLogger(__name__)

FAULT_HEADER = "X-Golive-Fault"
FAULT_SUFFIX = " [fault]"
MAX_RETRIES = 2
MAX_RETRY_WAIT_S = 2.0
_RETRY_STATUSES = frozenset({429, 503})

Obj = dict[str, Any]


class CallFailed(Exception):
    """A step of a flow failed (already recorded in Locust's stats); the flow stops here."""


def new_correlation_id(flow: str) -> str:
    return f"load-{flow}-{uuid.uuid4().hex[:16]}"


def _problem_code(body: str) -> str:
    try:
        problem = json.loads(body)
    except ValueError:
        return ""
    return str(problem.get("code", "")) if isinstance(problem, dict) else ""


def _retry_after(headers: Any) -> float:
    try:
        return min(MAX_RETRY_WAIT_S, max(0.0, float(headers.get("Retry-After", "0.5"))))
    except (TypeError, ValueError):
        return 0.5


class Api:
    """One system as seen by one user: base URL, its token, and ``call``."""

    def __init__(self, session: FastHttpSession, system: str, url: str, tokens: TokenCache):
        self.session = session
        self.system = system
        self.url = url
        self.tokens = tokens

    def call(
        self, method: str, path: str, name: str, corr: str, *, body: Obj | None = None,
        query: dict[str, Any] | None = None, if_match: int | None = None,
    ) -> Obj:  # fmt: skip
        """Send one request; return the JSON body of a 2xx, else raise ``CallFailed``.

        ``name`` is the templated path (``/quotes/[id]/submit``); Locust groups the request
        under it prefixed with the system (``cpq /quotes/[id]/submit``), as five systems
        share path shapes (``/customers/[id]`` is billing's and the ERP's).
        """
        name = f"{self.system} {name}"
        key = str(uuid.uuid4()) if method != "GET" else None
        target = self.url + path + (f"?{urlencode(query)}" if query else "")
        for attempt in range(MAX_RETRIES + 1):
            headers = {
                "Authorization": f"Bearer {self.tokens.get(self.system)}",
                "X-Correlation-Id": corr,
            }
            if key is not None:
                headers["Idempotency-Key"] = key
            if if_match is not None:
                headers["If-Match"] = f'"{if_match}"'
            with self.session.request(
                method, target, name=name, json=body, headers=headers, catch_response=True
            ) as resp:
                status = resp.status_code or 0
                fault = resp.headers.get(FAULT_HEADER) if resp.headers else None
                if fault:
                    resp.request_meta["name"] = name + FAULT_SUFFIX
                if 200 <= status < 300:
                    resp.success()
                    result: Obj = resp.json()
                    return result
                code = _problem_code(resp.text or "") if status else ""
                what = f"{status} {code}".strip() if status else f"no response: {resp.error}"
                resp.failure(f"injected fault {fault}: {what}" if fault else what)
                wait = _retry_after(resp.headers) if resp.headers else 0.5
            if status == 401 and attempt == 0:
                self.tokens.drop(self.system)  # revoked or expired early: sign in again
                continue
            if status not in _RETRY_STATUSES and status != 0:
                break
            if attempt < MAX_RETRIES:
                gevent.sleep(wait)
        raise CallFailed(f"{method} {name}: {what}")


def fetch_token(
    session: FastHttpSession, system: str, url: str, client_id: str, client_secret: str
) -> tuple[str, float]:
    """POST /oauth/token (client credentials); ``(access_token, expires_in)``."""
    form = urlencode({"grant_type": "client_credentials", "client_id": client_id,
                      "client_secret": client_secret})  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with session.request(
        "POST", f"{url}/oauth/token", name=f"{system} /oauth/token", data=form, headers=headers,
        catch_response=True,
    ) as resp:  # fmt: skip
        if resp.status_code == 200:
            body = resp.json()
            return str(body["access_token"]), float(body.get("expires_in", 3600))
        what = f"{resp.status_code} {_problem_code(resp.text or '')}".strip()
        resp.failure(f"token refused: {what}")
    raise CallFailed(f"POST /oauth/token at {url}: {what}")
