"""Calls to the five systems: tokens, retries, breaker, idempotency keys, correlation ids.

Patterns shown:

- **A token cache with refresh before expiry.** One OAuth2 client-credentials token per
  system, fetched again when less than a tenth of its life (at least 30 s) is left, and
  dropped on a 401 so the retry signs in again (docs/api.md, auth).
- **Every write carries an Idempotency-Key** the caller derives from the event id and the
  step (``evt_crm_000000000042:erp-order``): a retry after a lost response is replayed
  by the server instead of creating a second object (docs/api.md, idempotency keys).
- **Every call carries X-Correlation-Id** (the opportunity id), so the five systems'
  events and logs of one deal can be followed end to end.
- **Upsert by external id.** Look the object up by ``external_id`` first; create it (with
  a key) only when it is not there, under a per-id lock so two workers never race; a
  409 ``duplicate_external_id`` (another process won the race) returns the winner.
- **Retries** (tenacity) around each call, through the system's circuit breaker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from examples.reference_middleware.resilience import (
    Breaker,
    Permanent,
    Transient,
    classify,
    wait_retry_after,
)
from examples.reference_middleware.settings import SYSTEMS, Settings

__all__ = ["Systems"]

log = logging.getLogger("reference_middleware")


class _Tokens:
    """Bearer tokens per system, refreshed before they expire."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self._http, self._settings = http, settings
        self._cache: dict[str, tuple[str, float]] = {}  # system -> (token, refresh at)

    async def get(self, system: str) -> str:
        cached = self._cache.get(system)
        if cached and time.monotonic() < cached[1]:
            return cached[0]
        response = await self._http.post(
            f"{self._settings.urls[system]}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": self._settings.client_id,
                  "client_secret": self._settings.client_secret},
        )  # fmt: skip
        classify(response)
        body = response.json()
        life = float(body.get("expires_in", 3600))
        self._cache[system] = (body["access_token"], time.monotonic() + life - max(30, life / 10))
        return str(body["access_token"])

    def drop(self, system: str) -> None:
        self._cache.pop(system, None)


class Systems:
    """One shared HTTP client for the five systems, with the patterns above."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http = httpx.AsyncClient(timeout=settings.http_timeout_s)
        self._tokens = _Tokens(self._http, settings)
        self.breakers: dict[str, Breaker] = {
            s: Breaker(s, settings.breaker_failures, settings.breaker_reset_s) for s in SYSTEMS
        }
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self.calls = 0  # requests sent, for /status

    async def close(self) -> None:
        await self._http.aclose()

    async def call(
        self, system: str, method: str, path: str, *, corr: str | None,
        key: str | None = None, json: Any = None, params: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        """One request, retried on transient failures; the decoded JSON body."""
        s = self.settings
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((Transient, httpx.TransportError)),
            wait=wait_retry_after(s.backoff_initial_s, s.backoff_max_s),
            stop=stop_after_attempt(s.http_attempts),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(system, method, path, corr, key, json, params)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _once(
        self, system: str, method: str, path: str, corr: str | None, key: str | None,
        body: Any, params: dict[str, Any] | None,
    ) -> Any:  # fmt: skip
        breaker = self.breakers[system]
        breaker.before()  # raises BreakerOpen: not retried here, the worker reschedules
        headers = {"X-Correlation-Id": corr} if corr else {}
        if key:
            headers["Idempotency-Key"] = key
        self.calls += 1
        try:
            headers["Authorization"] = f"Bearer {await self._tokens.get(system)}"
            response = await self._http.request(
                method, self.settings.urls[system] + path, json=body, params=params,
                headers=headers,
            )  # fmt: skip
            if response.status_code == 401:
                self._tokens.drop(system)
                raise Transient(f"{system}: 401, signing in again")
            classify(response)
        except (Transient, httpx.TransportError) as exc:
            breaker.failure()
            log.warning("%s %s %s failed: %s [corr=%s]", system, method, path, exc, corr)
            raise
        except Permanent:
            breaker.success()  # the system answered: it is up, the request was wrong
            raise
        except BaseException:
            breaker.release()  # cancelled mid-call: another call may be the trial
            raise
        breaker.success()
        return response.json() if response.content else None

    async def find(self, system: str, path: str, corr: str | None, **params: Any) -> Any:
        """The first object of a filtered list, or None."""
        page = await self.call(system, "GET", path, corr=corr, params={**params, "limit": 1})
        return page["data"][0] if page["data"] else None

    async def upsert(
        self, system: str, path: str, external_id: str, body: dict[str, Any], *,
        key: str, corr: str | None,
    ) -> Any:  # fmt: skip
        """The object with this external id: found, or created with an Idempotency-Key."""
        lock = self._locks.setdefault((system, path, external_id), asyncio.Lock())
        async with lock:
            found = await self.find(system, path, corr, external_id=external_id)
            if found is not None:
                return found
            try:
                return await self.call(
                    system, "POST", path, corr=corr, key=key,
                    json={**body, "external_id": external_id},
                )  # fmt: skip
            except Permanent as exc:  # made meanwhile by another process: take that one
                if exc.code != "duplicate_external_id":
                    raise
                return await self.find(system, path, corr, external_id=external_id)
