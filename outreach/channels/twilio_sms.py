"""SMS through the official Twilio SDK: one API call per message, at a steady messages/second.

The calls are the SDK's `messages.create_async`, carried by `TwilioTransport` (aiohttp) on an event
loop of the channel's own (`LoopThread`): `concurrency` coroutines each take the batch's next message,
and one token bucket, which channels may share, holds the configured rate (the provider-wide limit
across workers is the pipeline's job). Why not threads: the SDK's blocking client from a thread pool
costs 1.6-2.1 ms of CPU per call here (requests, plus eight threads taking turns at one GIL); the
same calls from one event loop cost 0.5-0.6 ms (bench/results/channels.txt).

Each message's status callback URL carries its key, so the delivery statuses come back to the
right message and `reconcile` can recognise a message Twilio holds (the emulator returns the
callback URL in the resource).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from outreach.channels.base import PROVIDER_SETTLE_SECONDS, OutgoingMessage, Reconciliation, SendResult
from outreach.channels.errors import Fault, ProviderFault, classify
from outreach.channels.loop_thread import LoopThread
from outreach.channels.retry import RetryPolicy
from outreach.channels.retry_async import with_retries_async
from outreach.channels.twilio_transport import TWILIO_API, TwilioTransport, classify_transport

MAX_BATCH = 1000


class TokenBucket:
    """Thread-safe pacing: each `reserve()` books the next slot and says how long to wait for it.

    Callers book under the lock (the balance may go negative) and wait outside it, so they are
    served in order and the long-run rate never exceeds `rate`, whether they wait in threads or on
    event loops.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._burst = max(burst, 1.0)
        self._tokens = self._burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; returns the seconds to wait before using it (0 when it is there)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1
            return -self._tokens / self._rate if self._tokens < 0 else 0.0


class RedirectingHttpClient(TwilioHttpClient):
    """Twilio's own blocking HTTP client pointed at `base_url`, sized for `pool_size` threads.

    For scripts and tests that use the SDK's synchronous calls against the emulator (and the
    benchmark's threaded floor); the channel itself sends through `TwilioTransport`.
    """

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

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send to the configured base URL."""
        if self._base_url and url.startswith(TWILIO_API):
            url = self._base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


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
        concurrency: int = 32,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        bucket: TokenBucket | None = None,
        settle_seconds: float = PROVIDER_SETTLE_SECONDS,
    ) -> None:
        """`sender` is an alphanumeric sender ID or a messaging service SID (MG...);
        `status_callback` a URL template with `{message_key}`; `bucket` may be shared by channels.
        `concurrency` is the requests in flight at once, so the rate can never pass concurrency / round
        trip: 32 in flight make 1,000/s only while a call takes under 32 ms (the local emulator); to a
        distant API, size it as the rate times the round trip."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settle_seconds = settle_seconds
        self._transport = TwilioTransport(base_url, concurrency, timeout)
        self._client = Client(account_sid, auth_token, http_client=self._transport)
        self._account_sid = account_sid
        is_service = sender.startswith("MG") and len(sender) == 34
        self._sender = {"messaging_service_sid": sender} if is_service else {"from_": sender}
        self._status_callback = status_callback
        self._bucket = bucket or TokenBucket(rate_per_second)
        self._retry = retry or RetryPolicy()
        self._concurrency = concurrency
        self._rng = random.Random()
        self._loop = LoopThread("twilio")
        # An unclosed channel (the factory's live for the process) still closes its connections.
        self._finalizer = weakref.finalize(self, _shut_down, self._loop, self._transport)

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send each message with its own API call, concurrently within the rate."""
        if len(batch) > self.max_batch:
            raise ValueError(f"a Twilio batch holds at most {self.max_batch} messages, got {len(batch)}")
        if not batch:
            return []
        return self._loop.run(self._send_all(batch))

    def close(self) -> None:
        """Close the connections and stop the channel's event loop."""
        self._finalizer()

    def reconcile(self, message_keys: Sequence[str]) -> Reconciliation:
        """Which keys Twilio holds, found by their status callback URL in the Messages list."""
        if not message_keys:
            return Reconciliation()
        if self._status_callback is None:  # our key never reached Twilio: we cannot tell
            return Reconciliation(complete=False)
        wanted = {_callback_url(self._status_callback, key): key for key in message_keys}
        return Reconciliation(found=self._loop.run(self._find(wanted)))

    async def _send_all(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """`concurrency` workers take the next message in turn; a bug in one stops them all."""
        results: dict[int, SendResult] = {}
        queue = iter(enumerate(batch))

        async def worker() -> None:
            for index, message in queue:
                results[index] = await self._send_one(message)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self._concurrency, len(batch))):
                group.create_task(worker())
        return [results[index] for index in range(len(batch))]

    async def _send_one(self, message: OutgoingMessage) -> SendResult:
        options: dict[str, Any] = dict(self._sender)
        if self._status_callback is not None:
            options["status_callback"] = _callback_url(self._status_callback, message.message_key)

        async def call() -> Any:
            wait = self._bucket.reserve()
            if wait:
                await asyncio.sleep(wait)
            try:
                return await self._client.messages.create_async(to=message.to, body=message.body, **options)
            except TwilioRestException as error:
                error.retry_after = self._transport.retry_after()  # type: ignore[attr-defined]
                raise

        try:
            resource = await with_retries_async(call, self._retry, _classify, self._rng)
        except ProviderFault as error:
            return SendResult(message.message_key, error.fault.outcome, reason=error.fault.reason)
        segments = int(resource.num_segments) if resource.num_segments else None
        return SendResult(message.message_key, "sent", provider_id=resource.sid, segments=segments)

    async def _find(self, wanted: dict[str, str]) -> dict[str, str]:
        """Page through the Messages list until every wanted callback URL is found or pages run out."""
        found: dict[str, str] = {}
        uri: str | None = f"/2010-04-01/Accounts/{self._account_sid}/Messages.json?PageSize=1000"
        while uri and len(found) < len(wanted):
            page = await self._get(TWILIO_API + uri)
            for resource in page["messages"]:
                key = wanted.get(resource.get("status_callback"))
                if key is not None:
                    found.setdefault(key, resource["sid"])
            uri = page.get("next_page_uri")
        return found

    async def _get(self, url: str) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            response = await self._client.request_async("GET", url)
            if response.status_code >= 400:
                raise TwilioRestException(response.status_code, url, response.text, method="GET")
            return json.loads(response.text)

        return await with_retries_async(call, self._retry, _classify, self._rng)


def _callback_url(template: str, message_key: str) -> str:
    """The status callback URL of one message: its key, URL-quoted, in the configured template."""
    return template.format(message_key=quote(message_key, safe=""))


def _classify(exc: BaseException) -> Fault | None:
    """aiohttp's failures first (some are also `TimeoutError`s, which mean other things to urllib)."""
    return classify_transport(exc) or classify(exc)


def _shut_down(loop: LoopThread, transport: TwilioTransport) -> None:
    loop.run(transport.close())
    loop.close()
