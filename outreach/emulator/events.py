"""Delivery events, generated after the request has been answered and posted back in batches.

The request path only appends the accepted message to a queue; a background task draws each
message's fate (seeded), schedules its events on a heap and, when they fall due, posts them:
SendGrid events as signed JSON batches of up to 1,000 to the configured webhook, Twilio status
callbacks as signed form posts to each message's `StatusCallback`. Without a destination the events
are kept in memory for `GET /_emulator/events`. A refused or failed post is retried a few times.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import json
import random
import re
import time
from collections import deque
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import httpx

from outreach.emulator.config import EmulatorConfig
from outreach.emulator.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    EventSigner,
    twilio_signature,
)
from outreach.emulator.store import DeliveredEmail, Store

TICK_SECONDS = 0.02
WEBHOOK_BATCH = 1000
POST_ATTEMPTS = 4
_FORCED = re.compile(r"\+(bounce|blocked|dropped|deferred|click)@")
"""A recipient like `jean+bounce@example.org` always meets that fate (deterministic tracking tests)."""
_LINK = re.compile(r'href="(https?://[^"]+)"')
_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
_PROXY_AGENT = "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"

Event = tuple[float, int, str, Any]
"""(due time, sequence, kind 'sendgrid' | 'twilio', payload)."""


class EventEngine:
    """Turns accepted messages into timed, signed provider events."""

    def __init__(self, config: Callable[[], EmulatorConfig], store: Store, signer: EventSigner) -> None:
        self._config = config
        self._store = store
        self._signer = signer
        self._accepted: deque[tuple[str, Any]] = deque()
        self._heap: list[Event] = []
        self._sequence = itertools.count()
        self._rng = random.Random()
        self._client: httpx.AsyncClient | None = None
        self._posts: set[asyncio.Task[None]] = set()

    def reseed(self, seed: int | None) -> None:
        """Restart the draws (same seed, same fates)."""
        self._rng = random.Random(seed)

    def reset(self) -> None:
        """Drop everything scheduled but not yet reported."""
        self._accepted.clear()
        self._heap.clear()

    def email_accepted(self, emails: list[DeliveredEmail]) -> None:
        """Called on the request path: O(1), the work happens in the background task."""
        self._accepted.append(("sendgrid", emails))

    def sms_accepted(self, resource: dict[str, Any]) -> None:
        """Called on the request path: O(1), the work happens in the background task."""
        self._accepted.append(("twilio", resource))

    def pending(self) -> int:
        """Messages or events not yet reported (tests wait for zero)."""
        return len(self._accepted) + len(self._heap) + len(self._posts)

    async def run(self) -> None:
        """The background loop; cancelled at shutdown."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            self._client = client
            try:
                while True:
                    await asyncio.sleep(TICK_SECONDS)
                    try:
                        self._schedule_accepted()
                        self._emit_due(time.time())
                    except Exception:  # the loop must survive one bad message
                        self._store.counters["event_engine_errors"] += 1
            finally:
                for task in list(self._posts):
                    task.cancel()

    def _schedule_accepted(self) -> None:
        config = self._config()
        while self._accepted:
            kind, item = self._accepted.popleft()
            start = time.time() + config.event_delay
            if kind == "sendgrid":
                timelines = [self._email_timeline(email, config) for email in item]
            else:
                timelines = [self._sms_timeline(item, config)]
            for events in timelines:
                for step, payload in enumerate(events):
                    due = start + step * config.event_spacing
                    heapq.heappush(self._heap, (due, next(self._sequence), kind, payload))

    def _email_timeline(self, email: DeliveredEmail, config: EmulatorConfig) -> list[dict[str, Any]]:
        rates, draw = config.email_events, self._rng.random
        forced = _FORCED.search(email.recipient)
        fate = forced.group(1) if forced else None
        if fate == "dropped" or (fate is None and draw() < rates.dropped):
            return [self._email_event(email, "dropped", reason="Bounced Address")]
        events = [self._email_event(email, "processed", **{"smtp-id": f"<{email.x_message_id}@emulator>"})]
        if fate == "bounce" or (fate is None and draw() < rates.bounce):
            return [*events, self._bounce(email, "bounce")]
        if fate == "blocked" or (fate is None and draw() < rates.blocked):
            return [*events, self._bounce(email, "blocked")]
        if fate == "deferred" or (fate is None and draw() < rates.deferred):
            events.append(
                self._email_event(email, "deferred", response="421 4.7.0 Try again later", attempt="1")
            )
        events.append(self._email_event(email, "delivered", response="250 2.0.0 OK", ip="149.72.0.1", tls=1))
        if draw() < rates.machine_open:
            events.append(self._open(email, machine=True))
        if fate == "click" or draw() < rates.human_open:
            events.append(self._open(email, machine=False))
            if fate == "click" or draw() < rates.click:
                link = _LINK.search(email.html or "")
                url = link.group(1) if link else "https://www.lassuranceretraite.fr/"
                events.append(
                    self._email_event(
                        email,
                        "click",
                        url=url,
                        url_offset={"index": 0, "type": "html"},
                        useragent=_USER_AGENT,
                    )
                )
        return events

    def _email_event(self, email: DeliveredEmail, name: str, **extra: Any) -> dict[str, Any]:
        categories = email.categories
        event = {
            "email": email.recipient,
            "timestamp": 0,
            "event": name,
            "sg_event_id": base64.urlsafe_b64encode(self._rng.randbytes(16)).decode().rstrip("="),
            "sg_message_id": email.sg_message_id,
            **email.custom_args,
            **extra,
        }
        if categories:
            event["category"] = categories[0] if len(categories) == 1 else list(categories)
        return event

    def _open(self, email: DeliveredEmail, machine: bool) -> dict[str, Any]:
        agent = _PROXY_AGENT if machine else _USER_AGENT
        ip = "17.58.0.1" if machine else "90.12.34.56"
        return self._email_event(email, "open", sg_machine_open=machine, useragent=agent, ip=ip)

    def _bounce(self, email: DeliveredEmail, kind: str) -> dict[str, Any]:
        if kind == "bounce":
            status, reason = "5.1.1", "550 5.1.1 The email account that you tried to reach does not exist."
            classification = "Invalid Address"
        else:
            status, reason = "5.7.1", "550 5.7.1 Message rejected due to local policy."
            classification = "Reputation"
        return self._email_event(
            email, "bounce", type=kind, status=status, reason=reason, bounce_classification=classification
        )

    def _sms_timeline(self, resource: dict[str, Any], config: EmulatorConfig) -> list[dict[str, Any]]:
        rates, draw = config.sms_events, self._rng.random
        if draw() < rates.failed:
            return [self._sms_status(resource, "queued"), self._sms_status(resource, "failed", "30008")]
        final = ("undelivered", "30003") if draw() < rates.undelivered else ("delivered", None)
        return [
            self._sms_status(resource, "queued"),
            self._sms_status(resource, "sent"),
            self._sms_status(resource, *final),
        ]

    @staticmethod
    def _sms_status(resource: dict[str, Any], status: str, error_code: str | None = None) -> dict[str, Any]:
        params = {
            "MessageSid": resource["sid"],
            "SmsSid": resource["sid"],
            "AccountSid": resource["account_sid"],
            "MessageStatus": status,
            "SmsStatus": status,
            "To": resource["to"],
            "ApiVersion": "2010-04-01",
        }
        if resource["from"]:
            params["From"] = resource["from"]
        if resource["messaging_service_sid"]:
            params["MessagingServiceSid"] = resource["messaging_service_sid"]
        if error_code:
            params["ErrorCode"] = error_code
        return {"resource": resource, "params": params}

    def _emit_due(self, now: float) -> None:
        config = self._config()
        email_events: list[dict[str, Any]] = []
        while self._heap and self._heap[0][0] <= now:
            _, _, kind, payload = heapq.heappop(self._heap)
            if kind == "sendgrid":
                payload["timestamp"] = int(now)
                email_events.append(payload)
            else:
                self._emit_sms_status(payload, config, now)
        for start in range(0, len(email_events), WEBHOOK_BATCH):
            batch = email_events[start : start + WEBHOOK_BATCH]
            if config.sendgrid_webhook_url:
                self._post(self._post_sendgrid(config.sendgrid_webhook_url, batch))
            else:
                self._store.sendgrid_events.extend(batch)

    def _emit_sms_status(self, payload: dict[str, Any], config: EmulatorConfig, now: float) -> None:
        resource, params = payload["resource"], payload["params"]
        resource["status"] = params["MessageStatus"]
        resource["date_updated"] = _rfc2822(now)
        if params["MessageStatus"] == "sent":
            resource["date_sent"] = resource["date_updated"]
        if "ErrorCode" in params:
            resource["error_code"] = int(params["ErrorCode"])
        url = resource["status_callback"]
        if url:
            self._post(self._post_twilio(url, params, config.twilio_auth_token))
        else:
            self._store.twilio_callbacks.append({"url": None, "params": params})

    def _post(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)

    async def _post_sendgrid(self, url: str, batch: list[dict[str, Any]]) -> None:
        body = json.dumps(batch, ensure_ascii=False, separators=(",", ":"))
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: self._signer.sign(timestamp, body),
            TIMESTAMP_HEADER: timestamp,
            "User-Agent": "SendGrid Event API",
        }
        await self._deliver(url, body.encode("utf-8"), headers, "sendgrid_posts")

    async def _post_twilio(self, url: str, params: dict[str, str], auth_token: str) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            TWILIO_SIGNATURE_HEADER: twilio_signature(auth_token, url, params),
            "User-Agent": "TwilioProxy/1.1",
        }
        await self._deliver(url, urlencode(params).encode(), headers, "twilio_posts")

    async def _deliver(self, url: str, body: bytes, headers: dict[str, str], counter: str) -> None:
        assert self._client is not None
        for attempt in range(POST_ATTEMPTS):
            try:
                response = await self._client.post(url, content=body, headers=headers)
                if response.status_code < 500:
                    self._store.counters[f"{counter}_{response.status_code // 100}xx"] += 1
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5 * 2**attempt)
        self._store.counters[f"{counter}_lost"] += 1


def _rfc2822(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)
