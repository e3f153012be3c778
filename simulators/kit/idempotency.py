"""Idempotency-Key with Stripe's semantics.

A mutating request with a key runs once; a retry with the same key and body gets
the first response again (``Idempotent-Replayed: true``); the same key with another
body gets 422 ``idempotency_key_reused``; a retry while the first is still running
gets 409 ``idempotency_in_progress``. Keys are scoped to the client and live 24 h
of simulator time. As at Stripe, only requests whose endpoint started executing are
saved: a request refused before (401, 400, 413, 415, a body that does not validate)
is not, and neither are 5xx answers, 412 (a stale If-Match, a precondition checked
before the change), 429 and 503, so the corrected or retried request runs again.
Business-rule refusals (``credit_limit_exceeded`` ...) are saved and replayed.

The saved response commits with the request's changes (``kit/uow.py``), before it is
sent: a client that has the answer finds the key done. The in-flight marker is a
lock, not a change, and belongs to no transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators.kit.uow import current_unit

__all__ = ["KEY_TTL_S", "MAX_KEY_LENGTH", "IdempotencyStore", "SavedResponse"]

KEY_TTL_S = 24 * 3600
MAX_KEY_LENGTH = 255
_NOT_SAVED = frozenset({401, 412, 429, 503})


@dataclass(slots=True)
class SavedResponse:
    fingerprint: bytes
    expires_at: float
    status: int = 0
    headers: list[tuple[bytes, bytes]] | None = None
    body: bytes = b""

    @property
    def in_flight(self) -> bool:
        return self.headers is None


class IdempotencyStore:
    """Keys by (client, key) → the saved response, or an in-flight marker."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], SavedResponse] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, client: str, key: str, now: float) -> SavedResponse | None:
        entry = self._entries.get((client, key))
        if entry is not None and entry.expires_at <= now:
            del self._entries[(client, key)]
            return None
        return entry

    def begin(self, client: str, key: str, fingerprint: bytes, now: float) -> None:
        self._entries[(client, key)] = SavedResponse(fingerprint, now + KEY_TTL_S)
        if now >= self._next_sweep:
            self._sweep(now)

    @staticmethod
    def saves(status: int) -> bool:
        """Whether the response of a request whose endpoint ran is saved for replays."""
        return status < 500 and status not in _NOT_SAVED

    def finish(
        self,
        client: str,
        key: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        """Save the response of the request in flight under this key (at its commit)."""
        entry = self._entries.get((client, key))
        if entry is None:
            return
        if not self.saves(status):
            del self._entries[(client, key)]
            return
        entry.status = status
        entry.headers = headers
        entry.body = body

    def next_expiry(self) -> float | None:
        """Epoch seconds of the earliest expiry, None without keys (the key-expiry job).

        Keys enter in the order they began and all live ``KEY_TTL_S`` on a clock that
        never moves back, so the first entry expires first.
        """
        for entry in self._entries.values():
            return entry.expires_at
        return None

    def expire(self, now: float) -> int:
        """Drop the keys expired at ``now``; returns how many."""
        entries = self._entries
        expired = []
        for k, entry in entries.items():
            if entry.expires_at > now:
                break
            expired.append(k)
        for k in expired:
            del entries[k]
        return len(expired)

    def abandon(self, client: str, key: str) -> None:
        self._entries.pop((client, key), None)

    def _sweep(self, now: float) -> None:
        expired = [k for k, e in self._entries.items() if e.expires_at <= now]
        for k in expired:
            del self._entries[k]
        self._next_sweep = now + 600

    def clear(self) -> None:
        unit = current_unit()
        if unit is not None:
            unit.keys_cleared(self, self._entries)
        self._entries = {}  # a fresh dict: a rollback puts the old one back

    def refill(self, entries: dict[tuple[str, str], SavedResponse]) -> None:
        """Undo ``clear``."""
        self._entries = entries
