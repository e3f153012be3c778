"""Which addresses are this machine's loopback: one answer for the estate, the config and load.

Standard library only, so the CLI can ask without importing the web stack.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback", "is_loopback_url"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; anything else is reachable from outside."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is a loopback address or ``localhost`` (no DNS lookup)."""
    return is_loopback(urlsplit(url).hostname or "")
