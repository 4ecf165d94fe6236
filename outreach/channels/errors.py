"""What a provider failure means for the message: give up, try again later, or ask the provider.

    classify(exc) -> Fault | None
        failed      the provider refused this message (4xx): permanent, the reason is kept
        retry       throttled (429), provider trouble (500, 502, 503), nothing reached it (refused, connect
                    timeout), or it refused our credentials (401/403: an operator must fix the key,
                    the message must not be marked as failed for it)
        ambiguous   the request left but no answer came back (read timeout, connection dropped
                    after sending, a gateway timeout 504): the provider may have it, so it is never
                    resent blindly

Both SDKs are covered: SendGrid's `python_http_client` (urllib underneath) and Twilio's
`TwilioRestException` (requests underneath). Anything else is not a provider fault: `None`, and the
caller lets it propagate (a bug must not be disguised as a retry).
"""

from __future__ import annotations

import json
import socket
import urllib.error
from dataclasses import dataclass
from http.client import RemoteDisconnected

import requests
from python_http_client.exceptions import HTTPError
from twilio.base.exceptions import TwilioRestException
from urllib3.exceptions import NewConnectionError

from outreach.channels.base import Outcome


@dataclass(frozen=True)
class Fault:
    """A classified provider failure."""

    outcome: Outcome
    reason: str
    retry_after: float | None = None
    """Seconds the provider asked us to wait (Retry-After), when it said so."""


class ProviderFault(Exception):
    """Raised by `retry.with_retries` when a call finally fails; carries its classification."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.reason)
        self.fault = fault


def classify(exc: BaseException) -> Fault | None:
    """The meaning of `exc` for the message(s) of the call that raised it."""
    if isinstance(exc, HTTPError):
        return _from_status(exc.status_code, _sendgrid_reason(exc), _retry_after(exc.headers))
    if isinstance(exc, TwilioRestException):
        reason = f"twilio {exc.code}: {exc.msg}" if exc.code else f"twilio HTTP {exc.status}: {exc.msg}"
        return _from_status(exc.status, reason, getattr(exc, "retry_after", None))
    return _from_transport(exc)


GATEWAY_TIMEOUT = 504
"""A gateway gave up waiting for the provider's servers, which may have taken the request meanwhile
(the emulator's accept-then-timeout answers it after storing the message): resending could send twice."""


def _from_status(status: int, reason: str, retry_after: float | None) -> Fault:
    if status == GATEWAY_TIMEOUT:
        return Fault("ambiguous", f"gateway timeout after sending: {reason}")
    if status == 429 or status >= 500:
        return Fault("retry", reason, retry_after)
    if status in (401, 403):
        return Fault("retry", f"provider refused the credentials ({status}): {reason}")
    return Fault("failed", reason)


def _from_transport(exc: BaseException) -> Fault | None:
    # requests (Twilio): a connect timeout or a refused connection sent nothing.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Fault("retry", "connection timed out before sending")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Fault("ambiguous", "no answer within the timeout after sending")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _refused(exc):
            return Fault("retry", "connection refused")
        return Fault("ambiguous", f"connection lost after sending: {type(exc).__name__}")
    # urllib (SendGrid): errors while connecting or sending are wrapped in URLError; the response
    # is read outside that wrapper, so a bare timeout or disconnection means the request had left.
    if isinstance(exc, urllib.error.URLError):
        return Fault("retry", f"could not reach the provider: {exc.reason}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return Fault("ambiguous", "no answer within the timeout after sending")
    if isinstance(exc, RemoteDisconnected | ConnectionResetError):
        return Fault("ambiguous", f"connection lost after sending: {type(exc).__name__}")
    return None


def _refused(exc: requests.exceptions.ConnectionError) -> bool:
    """requests wraps a failed connect as ConnectionError(MaxRetryError(reason=NewConnectionError))."""
    cause = exc.args[0] if exc.args else None
    return isinstance(getattr(cause, "reason", None), NewConnectionError)


def _sendgrid_reason(exc: HTTPError) -> str:
    """SendGrid's own error messages (with their field), else the HTTP reason."""
    try:
        errors = json.loads(exc.body)["errors"]
        parts = [f"{e['message']} ({e['field']})" if e.get("field") else e["message"] for e in errors]
        return f"sendgrid {exc.status_code}: " + "; ".join(parts)
    except (ValueError, KeyError, TypeError):
        return f"sendgrid {exc.status_code}: {exc.reason}"


def _retry_after(headers: object) -> float | None:
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
