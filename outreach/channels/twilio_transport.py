"""The Twilio SDK's asynchronous HTTP seam, over one pooled aiohttp session, and what its failures mean.

The SDK builds every request (URL, form fields, headers, credentials) and turns every answer into a
`MessageInstance` or a `TwilioRestException`; this class only carries them, as the SDK's
`AsyncTwilioHttpClient` does. That client is not used as it is because (twilio 9.13, aiohttp 3.14):

- it drops its `timeout`: each request goes out with `timeout=None`, which aiohttp reads as *no*
  timeout, so one held request would hang its whole batch;
- a single total timeout cannot tell a connect timeout (nothing sent: retry) from a read timeout
  (the request left: ambiguous); here they are separate;
- it hands aiohttp `auth=BasicAuth(...)`, deprecated since aiohttp 3.14 (gone in 4.0); here the
  header is encoded once per credentials with `encode_basic_auth`;
- it encodes each form through aiohttp's `FormData`, about a tenth of the client's CPU at a thousand
  calls a second; here the same bytes come from one `urlencode`.

Like the synchronous `RedirectingHttpClient`, it sends `https://api.twilio.com` to another base URL
when given one (the emulator), and remembers a 429's Retry-After for the task that received it, since
`TwilioRestException` does not carry headers.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlencode

from aiohttp import (
    ClientConnectionError,
    ClientConnectorError,
    ClientPayloadError,
    ClientSession,
    ClientTimeout,
    ConnectionTimeoutError,
    TCPConnector,
    encode_basic_auth,
)
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from outreach.channels.errors import Fault

TWILIO_API = "https://api.twilio.com"

_retry_after: ContextVar[str | None] = ContextVar("twilio_retry_after", default=None)
"""Per asyncio task: the SDK awaits `request` inside the caller's task, so the caller sees it."""


class TwilioTransport(AsyncHttpClient):
    """HTTP for an SDK `Client`: at most `connections` open at once, created on the first request.

    Must be used from one event loop (the aiohttp session belongs to the loop that made it).
    """

    def __init__(self, base_url: str | None, connections: int, timeout: float) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), is_async=True, timeout=timeout)
        self._base_url = base_url.rstrip("/") if base_url else None
        self._connections = connections
        self._session: ClientSession | None = None
        self._authorization: dict[tuple[str, str], str] = {}

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send the SDK's request; note a 429's Retry-After for the calling task."""
        if self._base_url and url.startswith(TWILIO_API):
            url = self._base_url + url[len(TWILIO_API) :]
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = self._basic(auth)
        body = urlencode(data, doseq=True).encode() if data else None
        if self.logger.isEnabledFor(logging.INFO):
            self.log_request({"method": method, "url": url, "params": params, "headers": headers})
        options: dict[str, Any] = {"timeout": _timeouts(timeout)} if timeout is not None else {}
        async with self._open().request(
            method, url, params=params, data=body, headers=headers, allow_redirects=allow_redirects, **options
        ) as answer:
            text = await answer.text()
        if self.logger.isEnabledFor(logging.INFO):
            self.log_response(answer.status, answer)  # type: ignore[arg-type]
        _retry_after.set(answer.headers.get("Retry-After") if answer.status == 429 else None)
        return Response(answer.status, text, answer.headers)

    def retry_after(self) -> float | None:
        """The Retry-After of the calling task's last answer, when it was a 429."""
        value = _retry_after.get()
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    async def close(self) -> None:
        """Close the pooled connections (a later request opens new ones)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> ClientSession:
        if self._session is None:
            self._session = ClientSession(
                connector=TCPConnector(limit=self._connections),
                timeout=_timeouts(self.timeout),
                # A local base URL needs no proxy from the environment; Twilio itself may.
                trust_env=self._base_url is None,
            )
        return self._session

    def _basic(self, auth: tuple[str, str]) -> str:
        if auth not in self._authorization:
            self._authorization[auth] = encode_basic_auth(*auth)
        return self._authorization[auth]


def _timeouts(seconds: float | None) -> ClientTimeout:
    """`seconds` to connect (pool wait included) and between reads, as `requests` means a timeout."""
    return ClientTimeout(total=None, connect=seconds, sock_read=seconds)


def classify_transport(exc: BaseException) -> Fault | None:
    """The meaning of an aiohttp failure; None for anything else (`errors.classify` knows the rest)."""
    if isinstance(exc, ConnectionTimeoutError):
        return Fault("retry", "connection timed out before sending")
    if isinstance(exc, ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return Fault("retry", "connection refused")
        return Fault("retry", f"could not reach the provider: {exc.os_error}")
    if isinstance(exc, TimeoutError):  # aiohttp's read timeout (SocketTimeoutError) is one
        return Fault("ambiguous", "no answer within the timeout after sending")
    if isinstance(exc, ClientConnectionError | ClientPayloadError):  # dropped once the request had left
        return Fault("ambiguous", f"connection lost after sending: {type(exc).__name__}")
    return None
