"""OAuth client-credentials tokens as a careful client keeps them: one per system (a token
is bound to the system that issued it), renewed before it expires rather than after a 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["REFRESH_MARGIN_S", "Token", "TokenCache"]

# Renew this long before expiry (or at 90 % of a short lifetime): a request signed with a
# token that expires in flight would be refused, as Salesforce and Stripe both do.
REFRESH_MARGIN_S = 60.0


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float

    def fresh(self, now: float, lifetime_s: float) -> bool:
        margin = min(REFRESH_MARGIN_S, lifetime_s * 0.1)
        return now < self.expires_at - margin


@dataclass
class TokenCache:
    """Tokens by system. ``fetch(system)`` returns ``(access_token, expires_in_s)``."""

    fetch: Callable[[str], tuple[str, float]]
    clock: Callable[[], float] = time.monotonic
    _tokens: dict[str, tuple[Token, float]] = field(default_factory=dict)

    def get(self, system: str) -> str:
        """A token for ``system`` that will not expire in the next moments."""
        held = self._tokens.get(system)
        now = self.clock()
        if held is not None and held[0].fresh(now, held[1]):
            return held[0].value
        value, lifetime = self.fetch(system)
        self._tokens[system] = (Token(value, now + lifetime), lifetime)
        return value

    def drop(self, system: str) -> None:
        """Forget a token the server refused (a 401), so the next call fetches one."""
        self._tokens.pop(system, None)
