"""The documented test client every simulator accepts, and the variables that carry secrets.

Separate from ``auth.py`` so the CLI can name it without importing the web stack.
"""

from __future__ import annotations

import secrets

__all__ = [
    "ADMIN_TOKEN_ENV",
    "DEFAULT_CLIENTS",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "SIGNING_KEY_ENV",
    "new_admin_token",
    "new_signing_key",
]

DEFAULT_CLIENT_ID = "golive"
DEFAULT_CLIENT_SECRET = "golive-secret"
DEFAULT_CLIENTS: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
# The control plane's X-Sim-Admin-Token; always set off loopback (see docs/control-plane.md).
ADMIN_TOKEN_ENV = "GOLIVE_SIM_ADMIN_TOKEN"
# The key that signs bearer tokens; unset, each estate makes a random one.
SIGNING_KEY_ENV = "GOLIVE_SIGNING_KEY"


def new_signing_key() -> str:
    """A fresh random key, as text that fits in an environment variable."""
    return secrets.token_urlsafe(32)


def new_admin_token() -> str:
    """A fresh admin token for a control plane bound beyond loopback."""
    return secrets.token_urlsafe(18)
