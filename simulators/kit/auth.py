"""OAuth2 client-credentials tokens and bearer checks.

Tokens are signed, not stored (``gl.<client>.<expiry>.<mac>``); each is bound to the
system that issued it, as a Salesforce token is no good at NetSuite. The signing key
is random per estate (``golive up`` hands its children one), or ``GOLIVE_SIGNING_KEY``
when a team needs tokens that survive a restart: nobody can mint a token from a key
written in the source. Expiry follows wall-clock time, not the simulator clock: as
with Stripe's test clocks, moving simulated time a year ahead does not sign everyone
out (set ``ttl_s`` low to test a middleware's token refresh).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from pydantic_core import to_json
from starlette.responses import Response

from simulators.kit.credentials import (
    ADMIN_TOKEN_ENV,
    DEFAULT_CLIENTS,
    SIGNING_KEY_ENV,
    new_admin_token,
    new_signing_key,
)
from simulators.kit.errors import PROBLEM_MEDIA_TYPE, SimError, Unauthorized

__all__ = [
    "ADMIN_TOKEN_ENV",
    "DEFAULT_CLIENTS",
    "SIGNING_KEY_ENV",
    "TOKEN_TTL_S",
    "BadTokenRequest",
    "InvalidClient",
    "TokenIssuer",
    "default_signing_key",
    "new_admin_token",
    "new_signing_key",
    "secrets_match",
    "token_error_response",
]

TOKEN_TTL_S = 3600
_CACHE_MAX = 10_000
_EXPIRY_DIGITS_MAX = 12
# Apps made without a key (create_app in a test) share this one per process.
_PROCESS_KEY = secrets.token_bytes(32)


def default_signing_key() -> bytes:
    """``GOLIVE_SIGNING_KEY`` when set (stable tokens), else this process's random key."""
    configured = os.environ.get(SIGNING_KEY_ENV)
    return configured.encode() if configured else _PROCESS_KEY


def secrets_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison of two secrets that never raises.

    ``hmac.compare_digest`` refuses ``str`` holding non-ASCII characters (TypeError);
    comparing the UTF-8 bytes makes a non-ASCII guess simply wrong.
    """
    if given is None:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


class BadTokenRequest(SimError):
    """RFC 6749 section 5.2 errors, as problem+json (400, or 401 for a bad client)."""

    status = 400


class InvalidClient(Unauthorized):
    """RFC 6749 ``invalid_client``; ``basic`` when the client tried HTTP Basic."""

    def __init__(self, detail: str, *, basic: bool = False) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="golive"'} if basic else None
        super().__init__("invalid_client", detail, headers=headers)


_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_TOKEN_ERROR_TITLES = {400: "Bad Request", 401: "Unauthorized"}


def token_error_response(exc: SimError) -> Response:
    """problem+json with RFC 6749's ``error`` and ``error_description`` beside ``code``.

    OAuth client libraries read ``error``; everything else in golive reads ``code``.
    """
    body = {
        "type": f"https://golive.dev/problems/{exc.code.replace('_', '-')}",
        "title": _TOKEN_ERROR_TITLES.get(exc.status, "Error"),
        "status": exc.status,
        "detail": exc.detail,
        "code": exc.code,
        "error": exc.code,
        "error_description": exc.detail,
    }
    return Response(
        to_json(body),
        status_code=exc.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**_NO_STORE, **(exc.headers or {})},
    )


def _basic_client(authorization: str) -> tuple[str, str] | None:
    """Client id and secret of an ``Authorization: Basic`` header, or None for no Basic.

    RFC 6749 section 2.3.1: both are form-encoded before they are joined with ":".
    """
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidClient("the Basic credentials are not base64 of UTF-8", basic=True) from None
    client_id, colon, secret = pair.partition(":")
    if not colon:
        raise InvalidClient("the Basic credentials must be client_id:client_secret", basic=True)
    return unquote_plus(client_id), unquote_plus(secret)


@dataclass
class TokenIssuer:
    system: str
    clients: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CLIENTS))
    signing_key: bytes = field(default_factory=default_signing_key, repr=False)
    ttl_s: int = TOKEN_TTL_S
    _cache: dict[str, tuple[str, int]] = field(default_factory=dict)

    def _mac(self, client_b64: str, expiry: int) -> str:
        message = f"{self.system}|{client_b64}|{expiry}".encode()
        return hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()[:40]

    def issue(
        self, grant_type: str | None, client_id: str | None, client_secret: str | None, now: float
    ) -> dict[str, object]:
        if not grant_type:
            raise BadTokenRequest("invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise BadTokenRequest(
                "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
            )
        if not client_id or client_secret is None:
            raise BadTokenRequest("invalid_request", "client_id and client_secret are required")
        expected = self.clients.get(client_id)
        if expected is None or not secrets_match(client_secret, expected):
            raise InvalidClient("unknown client or wrong secret")
        expiry = int(now) + self.ttl_s
        client_b64 = base64.urlsafe_b64encode(client_id.encode()).decode().rstrip("=")
        token = f"gl.{client_b64}.{expiry}.{self._mac(client_b64, expiry)}"
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl_s}

    def issue_for(
        self, form: Mapping[str, str], authorization: str | None, now: float
    ) -> dict[str, object]:
        """Answer a token request: its form, and its ``Authorization`` header if any.

        The client authenticates with HTTP Basic or with ``client_id`` and
        ``client_secret`` in the form (RFC 6749 section 2.3.1), never both at once.
        """
        basic = _basic_client(authorization) if authorization else None
        if basic is None:
            return self.issue(
                form.get("grant_type"), form.get("client_id"), form.get("client_secret"), now
            )
        client_id, secret = basic
        if "client_secret" in form or form.get("client_id", client_id) != client_id:
            raise BadTokenRequest(
                "invalid_request",
                "authenticate the client once: HTTP Basic or client_id and client_secret "
                "in the form, not both",
            )
        try:
            return self.issue(form.get("grant_type"), client_id, secret, now)
        except InvalidClient as exc:
            raise InvalidClient(exc.detail, basic=True) from None

    def verify(self, authorization: str | None, now: float) -> str:
        """The client id of a valid ``Authorization: Bearer`` header, else Unauthorized."""
        if not authorization:
            raise Unauthorized("missing_token", "an Authorization: Bearer token is required")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("invalid_token", "the Authorization header must be 'Bearer <token>'")
        cached = self._cache.get(token)
        if cached is None:
            cached = self._decode(token)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[token] = cached
        client_id, expiry = cached
        if expiry <= now:
            raise Unauthorized("token_expired", "the access token has expired; request a new one")
        return client_id

    def _decode(self, token: str) -> tuple[str, int]:
        # Every token issued here is ASCII; str.isdigit() alone would accept "\xb2" (a
        # superscript two in a latin-1 header) and int() would then fail with a 500.
        parts = token.split(".")
        if (
            not token.isascii()
            or len(parts) != 4
            or parts[0] != "gl"
            or not parts[2].isdigit()
            or len(parts[2]) > _EXPIRY_DIGITS_MAX
        ):
            raise Unauthorized("invalid_token", "the access token is not valid here")
        _, client_b64, expiry_text, mac = parts
        expiry = int(expiry_text)
        if not hmac.compare_digest(mac, self._mac(client_b64, expiry)):
            raise Unauthorized("invalid_token", "the access token is not valid here")
        try:
            client_id = base64.urlsafe_b64decode(client_b64 + "=" * (-len(client_b64) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("invalid_token", "the access token is not valid here") from None
        if client_id not in self.clients:
            raise Unauthorized("invalid_token", "the token's client is no longer registered")
        return client_id, expiry
