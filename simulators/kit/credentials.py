"""The documented test client every simulator accepts, defined once.

Separate from ``auth.py`` so the CLI can name it without importing the web stack.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CLIENTS", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET"]

DEFAULT_CLIENT_ID = "golive"
DEFAULT_CLIENT_SECRET = "golive-secret"
DEFAULT_CLIENTS: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
