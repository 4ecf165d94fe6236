"""SMS through the official Twilio SDK: one API call per message, at a steady messages/second.

A thread pool sends concurrently while one token bucket, shared by the pool's threads, holds the
configured rate (the provider-wide limit across workers is the pipeline's job). The SDK's HTTP
client is subclassed to send `https://api.twilio.com` to another base URL (the emulator) and to
remember a 429's Retry-After, which `TwilioRestException` does not carry.

Each message's status callback URL carries its key, so the delivery statuses come back to the
right message and `reconcile` can recognise a message Twilio holds (the emulator returns the
callback URL in the resource).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from outreach.channels.base import OutgoingMessage, Reconciliation, SendResult
from outreach.channels.errors import ProviderFault
from outreach.channels.retry import RetryPolicy, with_retries

TWILIO_API = "https://api.twilio.com"
MAX_BATCH = 1000


class TokenBucket:
    """Thread-safe pacing: `acquire()` returns when the caller may make one more call.

    Callers reserve their slot under the lock (the balance may go negative) and sleep outside it,
    so waiting threads are served in order and the long-run rate never exceeds `rate`.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._burst = max(burst, 1.0)
        self._tokens = self._burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take one token, waiting for it if needed."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait:
            time.sleep(wait)


class RedirectingHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, pointed at `base_url` and sized for `pool_size` threads."""

    def __init__(self, base_url: str | None, pool_size: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        assert self.session is not None
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._base_url = base_url.rstrip("/") if base_url else None
        if self._base_url:
            # A local base URL needs no proxy or netrc from the environment, and reading them costs
            # more than the request itself at a thousand calls a second.
            self.session.trust_env = False
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send to the configured base URL; note a 429's Retry-After for this thread."""
        if self._base_url and url.startswith(TWILIO_API):
            url = self._base_url + url[len(TWILIO_API) :]
        response = super().request(method, url, *args, **kwargs)
        headers = response.headers or {}
        self._local.retry_after = headers.get("Retry-After") if response.status_code == 429 else None
        return response

    def last_retry_after(self) -> float | None:
        """The Retry-After of this thread's last answer, when it was a 429."""
        value = getattr(self._local, "retry_after", None)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class TwilioChannel:
    """The `sms` channel over Twilio's Messages API."""

    name = "sms"
    max_batch = MAX_BATCH

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        sender: str,
        base_url: str | None = None,
        status_callback: str | None = None,
        rate_per_second: float = 10.0,
        concurrency: int = 8,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        bucket: TokenBucket | None = None,
    ) -> None:
        """`sender` is an alphanumeric sender ID or a messaging service SID (MG...);
        `status_callback` a URL template with `{message_key}`; `bucket` may be shared by channels."""
        self._http = RedirectingHttpClient(base_url, concurrency, timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._account_sid = account_sid
        is_service = sender.startswith("MG") and len(sender) == 34
        self._sender = {"messaging_service_sid": sender} if is_service else {"from_": sender}
        self._status_callback = status_callback
        self._bucket = bucket or TokenBucket(rate_per_second)
        self._retry = retry or RetryPolicy()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="twilio")

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send each message with its own API call, concurrently within the rate."""
        if len(batch) > self.max_batch:
            raise ValueError(f"a Twilio batch holds at most {self.max_batch} messages, got {len(batch)}")
        return list(self._pool.map(self._send_one, batch))

    def close(self) -> None:
        """Stop the thread pool (pending sends finish first)."""
        self._pool.shutdown(wait=True)

    def _callback_url(self, message_key: str) -> str | None:
        if self._status_callback is None:
            return None
        return self._status_callback.format(message_key=quote(message_key, safe=""))

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        options: dict[str, Any] = dict(self._sender)
        callback = self._callback_url(message.message_key)
        if callback:
            options["status_callback"] = callback

        def call() -> Any:
            self._bucket.acquire()
            try:
                return self._client.messages.create(to=message.to, body=message.body, **options)
            except TwilioRestException as error:
                error.retry_after = self._http.last_retry_after()  # type: ignore[attr-defined]
                raise

        try:
            resource = with_retries(call, self._retry)
        except ProviderFault as error:
            return SendResult(message.message_key, error.fault.outcome, reason=error.fault.reason)
        segments = int(resource.num_segments) if resource.num_segments else None
        return SendResult(message.message_key, "sent", provider_id=resource.sid, segments=segments)

    def reconcile(self, message_keys: Sequence[str]) -> Reconciliation:
        """Which keys Twilio holds, found by their status callback URL in the Messages list."""
        wanted = {self._callback_url(key): key for key in message_keys}
        if not wanted:
            return Reconciliation()
        if None in wanted:  # without a status callback our key never reached Twilio: we cannot tell
            return Reconciliation(complete=False)
        found: dict[str, str] = {}
        uri: str | None = f"/2010-04-01/Accounts/{self._account_sid}/Messages.json?PageSize=1000"
        while uri and len(found) < len(wanted):
            page = self._get(TWILIO_API + uri)
            for resource in page["messages"]:
                key = wanted.get(resource.get("status_callback"))
                if key is not None:
                    found.setdefault(key, resource["sid"])
            uri = page.get("next_page_uri")
        return Reconciliation(found=found)

    def _get(self, url: str) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            response = self._client.request("GET", url)
            if response.status_code >= 400:
                raise TwilioRestException(response.status_code, url, response.text, method="GET")
            return json.loads(response.text)

        return with_retries(call, self._retry)
