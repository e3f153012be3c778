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

from collections import deque
from dataclasses import dataclass

from simulators.kit.uow import current_unit

__all__ = ["DEFAULT_MAX_KEYS", "KEY_TTL_S", "MAX_KEY_LENGTH", "IdempotencyStore", "SavedResponse"]

KEY_TTL_S = 24 * 3600
MAX_KEY_LENGTH = 255
# Saved keys a simulator keeps at most (GOLIVE_IDEMPOTENCY_MAX_KEYS); past it the oldest
# are forgotten first, expired ones before any other (docs/limits.md).
DEFAULT_MAX_KEYS = 100_000
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


_Key = tuple[str, str]


class IdempotencyStore:
    """Keys by (client, key) → the saved response, or an in-flight marker.

    Keys live ``KEY_TTL_S`` of simulator time, and the clock never goes back, so the
    order keys begin in is the order they expire in: ``_order`` keeps it, and expiry
    and the cap both drop from its front in O(1) per key.
    """

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError("an idempotency store keeps at least one key")
        self.max_keys = max_keys
        self._entries: dict[_Key, SavedResponse] = {}
        self._order: deque[tuple[float, _Key]] = deque()
        self.evicted = 0  # unexpired keys forgotten because of the cap (a metric)

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, client: str, key: str, now: float) -> SavedResponse | None:
        entry = self._entries.get((client, key))
        if entry is not None and entry.expires_at <= now:
            del self._entries[(client, key)]
            return None
        return entry

    def begin(self, client: str, key: str, fingerprint: bytes, now: float) -> None:
        expires_at = now + KEY_TTL_S
        self._entries[(client, key)] = SavedResponse(fingerprint, expires_at)
        self._order.append((expires_at, (client, key)))
        if self._order[0][0] <= now:
            self.expire(now)
        if len(self._entries) > self.max_keys:
            self._evict()
        elif len(self._order) > 2 * len(self._entries) + 1024:
            self._compact()

    def next_expiry(self) -> float | None:
        """When the earliest key kept expires (epoch seconds of the simulator clock)."""
        order, entries = self._order, self._entries
        while order:
            expires_at, k = order[0]
            entry = entries.get(k)
            if entry is not None and entry.expires_at == expires_at:
                return expires_at
            order.popleft()  # the key was replaced, finished as not saved, or dropped
        return None

    def expire(self, now: float) -> int:
        """Forget every key whose 24 h have passed; returns how many."""
        order, entries = self._order, self._entries
        dropped = 0
        while order and order[0][0] <= now:
            expires_at, k = order.popleft()
            entry = entries.get(k)
            if entry is not None and entry.expires_at == expires_at:
                del entries[k]
                dropped += 1
        return dropped

    def _evict(self) -> None:
        """Forget the oldest saved keys until the cap holds (none in flight)."""
        order, entries = self._order, self._entries
        while len(entries) > self.max_keys and order:
            expires_at, k = order[0]
            entry = entries.get(k)
            if entry is None or entry.expires_at != expires_at:
                order.popleft()
            elif entry.in_flight:
                return  # a request still running under it; the next begin tries again
            else:
                order.popleft()
                del entries[k]
                self.evicted += 1

    def _compact(self) -> None:
        """Drop the order's stale entries (keys abandoned or not saved), O(n) now and then.

        The dict keeps insertion order and a key is only inserted by ``begin``, at the
        latest expiry so far: its order is the expiry order.
        """
        self._order = deque((e.expires_at, k) for k, e in self._entries.items())

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

    def abandon(self, client: str, key: str) -> None:
        self._entries.pop((client, key), None)

    def clear(self) -> None:
        unit = current_unit()
        if unit is not None:
            unit.keys_cleared(self, (self._entries, self._order))
        # Fresh containers: a rollback puts the old ones back.
        self._entries, self._order = {}, deque()

    def refill(self, before: tuple[dict[_Key, SavedResponse], deque[tuple[float, _Key]]]) -> None:
        """Undo ``clear``."""
        self._entries, self._order = before
