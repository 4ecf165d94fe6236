"""Events from our own links (pixel, click redirect, letter landing, unsubscribe), in the vocabulary.

Nothing personal is kept: no IP address, only the user agent (truncated), which is what tells a
person from a mail proxy or a link scanner. Opens and clicks get a fresh event id each (every open
counts); a response and an unsubscribe get one id per message, so repeating them stores nothing new.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

from outreach.delivery.pipeline import message_key
from outreach.tracking.events import EventType, TrackingEvent

PROVIDER = "outreach"
_MACHINE_AGENTS = re.compile(
    r"bot|crawl|spider|scan|preview|proofpoint|mimecast|barracuda|symantec|forcepoint|trendmicro|"
    r"safelinks|urldefense|python|curl|wget|go-http|java/|okhttp|headless",
    re.IGNORECASE,
)
"""Security scanners and link checkers that fetch links and images before (or instead of) a person.
Mail proxies that fetch on the person's behalf (Gmail's GoogleImageProxy) count as a human open."""


def machine_reason(user_agent: str | None) -> str | None:
    """Why this request looks automated, or None if it looks like a person."""
    if not user_agent:
        return "no user agent"
    match = _MACHINE_AGENTS.search(user_agent)
    return f"user agent {match.group(0).lower()}" if match else None


def opened(message_id: int, user_agent: str | None, at: datetime) -> TrackingEvent:
    """Our pixel was fetched."""
    reason = machine_reason(user_agent)
    return _event(
        EventType.OPENED,
        message_id,
        at,
        uuid.uuid4().hex,
        user_agent,
        machine=reason is not None,
        reason=reason,
    )


def clicked(message_id: int, url: str, user_agent: str | None, at: datetime) -> TrackingEvent:
    """A wrapped link was followed."""
    reason = machine_reason(user_agent)
    return _event(
        EventType.CLICKED,
        message_id,
        at,
        uuid.uuid4().hex,
        user_agent,
        machine=reason is not None,
        reason=reason,
        url=url,
    )


def responded(message_id: int, user_agent: str | None, at: datetime) -> TrackingEvent:
    """A letter's QR code or short URL was followed (once per letter)."""
    return _event(EventType.RESPONDED, message_id, at, f"r:{message_id}", user_agent, channel="letter")


def unsubscribed(message_id: int, every_channel: bool, at: datetime) -> TrackingEvent:
    """The person asked for no more messages on this message's channel, or on any channel."""
    scope = "all" if every_channel else "channel"
    return _event(
        EventType.UNSUBSCRIBED,
        message_id,
        at,
        f"u:{message_id}:{scope}",
        None,
        channel="all" if every_channel else None,
        reason="unsubscribe",
    )


def _event(
    event: EventType,
    message_id: int,
    at: datetime,
    event_id: str,
    user_agent: str | None,
    **fields: object,
) -> TrackingEvent:
    raw = json.dumps({"event": event.value, "user_agent": (user_agent or "")[:300]}, ensure_ascii=False)
    return TrackingEvent(
        provider=PROVIDER,
        provider_event_id=event_id,
        event=event,
        occurred_at=at,
        raw=raw,
        message_key=message_key(message_id),
        **fields,  # type: ignore[arg-type]
    )
