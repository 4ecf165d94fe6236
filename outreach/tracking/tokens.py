"""Signed, unguessable tokens for our own links: open pixel, click redirect, letter response,
unsubscribe and satisfaction survey.

A token carries only a purpose, a message id and, for a click, the target URL — no personal data —
and an HMAC-SHA256 over them with a secret only the service knows, so a token cannot be forged,
altered (another message, another target) or enumerated. Verification uses a constant-time compare.

Two encodings:
- links people click (`open`, `click`, `unsubscribe`, `survey`): base64url of MAC(16 bytes) + purpose
  + message id (8 bytes) + URL; 128 bits of MAC;
- the letter's response code, which people may type from paper: base32 (case-insensitive, no
  padding) of message id (4 bytes) + MAC (6 bytes), 16 characters. 48 bits of MAC is out of reach of
  online guessing (a guess is one HTTP request) and nothing offline can test a guess.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

_DOMAIN = b"outreach-tracking-v1|"
_MAC = 16
_SHORT_MAC = 6
_SHORT_ID = 4


class Purpose(StrEnum):
    """What a token lets its bearer do (one letter each, inside the signed payload)."""

    OPEN = "o"
    CLICK = "c"
    RESPONSE = "r"
    UNSUBSCRIBE = "u"
    SURVEY = "s"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says."""

    purpose: Purpose
    message_id: int
    url: str | None = None


class InvalidToken(ValueError):
    """The token is malformed, tampered with, signed with another secret, or for another purpose."""


class TokenSigner:
    """Signs and verifies tokens with one secret (at least 32 bytes of entropy in production)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the tracking secret must be at least 16 bytes long")
        self._secret = secret

    def sign(self, purpose: Purpose, message_id: int, url: str | None = None) -> str:
        """A token for `purpose` on `message_id`; `url` (http/https, required for clicks only)."""
        if purpose is Purpose.RESPONSE:
            return self.sign_response(message_id)
        if (purpose is Purpose.CLICK) != (url is not None):
            raise ValueError("a click token needs a URL, and only a click token carries one")
        if url is not None and not _is_web_url(url):
            raise ValueError("a click token only redirects to an http(s) URL")
        payload = purpose.value.encode() + message_id.to_bytes(8, "big") + (url or "").encode()
        return _b64(self._mac(payload)[:_MAC] + payload)

    def sign_response(self, message_id: int) -> str:
        """The short, case-insensitive code printed on a letter (QR code and address to type)."""
        body = message_id.to_bytes(_SHORT_ID, "big")
        mac = self._mac(Purpose.RESPONSE.value.encode() + body)[:_SHORT_MAC]
        return base64.b32encode(body + mac).decode("ascii").lower()

    def verify(self, token: str, purpose: Purpose) -> TokenClaims:
        """The claims of `token` if it is genuine and made for `purpose`; `InvalidToken` otherwise."""
        if purpose is Purpose.RESPONSE:
            return self._verify_response(token)
        try:
            data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken("not a token") from exc
        mac, payload = data[:_MAC], data[_MAC:]
        if len(payload) < 9 or not hmac.compare_digest(mac, self._mac(payload)[:_MAC]):
            raise InvalidToken("bad signature")
        if payload[:1] != purpose.value.encode():
            raise InvalidToken("token made for another purpose")
        url = payload[9:].decode("utf-8") or None
        if (purpose is Purpose.CLICK) != (url is not None):
            raise InvalidToken("click tokens, and only they, carry a URL")
        return TokenClaims(purpose, int.from_bytes(payload[1:9], "big"), url)

    def _verify_response(self, token: str) -> TokenClaims:
        code = token.strip().upper()
        if len(code) != 16:
            raise InvalidToken("not a response code")
        try:
            data = base64.b32decode(code)
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken("not a response code") from exc
        body, mac = data[:_SHORT_ID], data[_SHORT_ID:]
        expected = self._mac(Purpose.RESPONSE.value.encode() + body)[:_SHORT_MAC]
        if not hmac.compare_digest(mac, expected):
            raise InvalidToken("bad signature")
        return TokenClaims(Purpose.RESPONSE, int.from_bytes(body, "big"))

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, _DOMAIN + payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
