"""SMS through the official Twilio SDK: one API call per message, at a steady messages/second.

The calls are the SDK's `messages.create_async`, carried by `TwilioTransport` (aiohttp) on an event
loop of the channel's own (`LoopThread`): `concurrency` coroutines each take the batch's next message,
and one token bucket, which channels may share, holds the configured rate (the provider-wide limit
across workers is the pipeline's job). Why not threads: the SDK's blocking client from a thread pool
costs 1.6-2.1 ms of CPU per call here (requests, plus eight threads taking turns at one GIL); the
same calls from one event loop cost 0.5-0.6 ms (bench/results/channels.txt).

Each message's status callback URL carries its key, so the delivery statuses come back to the
right message. Twilio never returns that URL, nor anything else of ours, in the Message resource: what
`reconcile` can recognise is the destination number and the exact body. So the channel remembers, for
each key it hands to Twilio, the number, a digest of the body and when (`HandedOver`), and asks Twilio
for the messages to that number. A key it never handed over (sent by a process that is gone) cannot
be told apart from another message with the same text: the answer is then incomplete, never "not
found", so the message stays in doubt rather than be sent twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from outreach.channels.base import (
    PROVIDER_SETTLE_SECONDS,
    HandedOver,
    OutgoingMessage,
    Reconciliation,
    SendResult,
    content_digest,
)
from outreach.channels.errors import Fault, ProviderFault, classify
from outreach.channels.loop_thread import LoopThread
from outreach.channels.retry import RetryPolicy
from outreach.channels.retry_async import with_retries_async
from outreach.channels.twilio_transport import TWILIO_API, TwilioTransport, classify_transport

MAX_BATCH = 1000
CLOCK_SKEW_SECONDS = 300.0
"""How far Twilio's clock may be behind ours: a listed message created earlier than this before we
handed a key over is an older message with the same text, never that key's."""


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
        self.reconciles_by_content = True  # Twilio keeps nothing of ours: see the module docstring
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
        self._handed: dict[str, HandedOver] = {}  # key -> its last hand-over to Twilio, in this process
        self._sid_of: dict[str, str] = {}  # key -> the sid Twilio answered or reconcile attributed
        self._memory_lock = threading.Lock()  # sends and reconciles may run on several threads
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

    def reconcile(
        self, message_keys: Sequence[str], handed: Mapping[str, HandedOver] | None = None
    ) -> Reconciliation:
        """Which keys Twilio holds, recognised by number and body among the messages listed for that
        number; a key neither this channel nor `handed` knows makes the answer incomplete."""
        if not message_keys:
            return Reconciliation()
        told_by_others = handed or {}
        with self._memory_lock:
            handed = {key: self._handed.get(key) or told_by_others.get(key) for key in message_keys}
            handed = {key: over for key, over in handed.items() if over is not None}
            known = {key: self._sid_of[key] for key in handed if key in self._sid_of}
        listed = self._loop.run(self._list_to(sorted({h.to for k, h in handed.items() if k not in known})))
        found, told = self._match({k: h for k, h in handed.items() if k not in known}, listed)
        with self._memory_lock:
            self._sid_of.update(found)
        complete = told and len(handed) == len(message_keys)
        return Reconciliation(found={**known, **found}, complete=complete)

    def _match(
        self, wanted: dict[str, HandedOver], listed: dict[str, list[dict[str, Any]]]
    ) -> tuple[dict[str, str], bool]:
        """Pair wanted keys with listed messages of the same number and body, one message per key.

        Several keys with the same number and body are matched by count (which of identical texts
        arrived does not matter to the person). Messages already attributed to another key, or
        created before the first key of the group was handed over, are not candidates. When keys of
        this process outside `wanted` are still in doubt with the same number and body, fewer
        messages than keys cannot be attributed: the answer is then not told (False)."""
        with self._memory_lock:
            taken = {sid for key, sid in self._sid_of.items() if key not in wanted}
            pending = [k for k, h in self._handed.items() if k not in wanted and k not in self._sid_of]
            others = Counter((self._handed[k].to, self._handed[k].body_digest) for k in pending)
        groups: dict[tuple[str, str], list[str]] = {}
        for key in sorted(wanted, key=lambda k: wanted[k].at):
            groups.setdefault((wanted[key].to, wanted[key].body_digest), []).append(key)
        found: dict[str, str] = {}
        told = True
        for (to, body_digest), keys in groups.items():
            since = wanted[keys[0]].at - CLOCK_SKEW_SECONDS
            candidates = [
                resource["sid"]
                for resource in reversed(listed.get(to, []))  # oldest first
                if resource["sid"] not in taken
                and content_digest(resource.get("body") or "") == body_digest
                and _created(resource) >= since
            ]
            rivals = others[(to, body_digest)]
            if rivals and candidates and len(candidates) < len(keys) + rivals:
                told = False  # cannot say which of the in-doubt keys these messages are
                continue
            found.update(zip(keys, candidates, strict=False))
        return found, told

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

        handed = HandedOver(message.to, content_digest(message.body), time.time())
        with self._memory_lock:
            self._handed[message.message_key] = handed
            self._sid_of.pop(message.message_key, None)  # a new hand-over: any earlier sid is history

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
        with self._memory_lock:
            self._sid_of[message.message_key] = resource.sid
        segments = int(resource.num_segments) if resource.num_segments else None
        return SendResult(message.message_key, "sent", provider_id=resource.sid, segments=segments)

    async def _list_to(self, numbers: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every message Twilio lists for each number (newest first), paged 1,000 at a time. Not
        narrowed by DateSent: a message still queued at Twilio has none yet, and must be seen."""
        listed: dict[str, list[dict[str, Any]]] = {}
        for number in numbers:
            query = urlencode({"To": number, "PageSize": 1000})
            uri: str | None = f"/2010-04-01/Accounts/{self._account_sid}/Messages.json?{query}"
            resources: list[dict[str, Any]] = []
            while uri:
                page = await self._get(TWILIO_API + uri)
                resources += page["messages"]
                uri = page.get("next_page_uri")
            listed[number] = resources
        return listed

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


def _created(resource: dict[str, Any]) -> float:
    """When Twilio created a listed message (RFC 2822 date), in epoch seconds."""
    return parsedate_to_datetime(resource["date_created"]).timestamp()


def _classify(exc: BaseException) -> Fault | None:
    """aiohttp's failures first (some are also `TimeoutError`s, which mean other things to urllib)."""
    return classify_transport(exc) or classify(exc)


def _shut_down(loop: LoopThread, transport: TwilioTransport) -> None:
    loop.run(transport.close())
    loop.close()
