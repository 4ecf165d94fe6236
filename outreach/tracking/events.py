"""The normalised event vocabulary, shared by every provider and by our own links.

Each provider module maps its own event names to `EventType` with a plain dict and keeps the raw
payload, so what a provider said can always be re-read (the django-anymail shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

Bounce = Literal["hard", "soft"]


class EventType(StrEnum):
    """What happened to a message, whoever reported it (the values are stored in `delivery_events`)."""

    QUEUED = "queued"  # the provider accepted it and will try to send it
    SENT = "sent"  # the provider handed it to the carrier / the recipient's server
    DELIVERED = "delivered"  # the recipient's server or handset accepted it
    DEFERRED = "deferred"  # a temporary refusal; the provider keeps trying
    BOUNCED = "bounced"  # refused by the recipient's server: `bounce` says hard (for good) or soft
    DROPPED = "dropped"  # the provider refused to send (suppressed, invalid); `reason` says why
    OPENED = "opened"  # the open pixel was fetched; `machine` says whether a person or a proxy did
    CLICKED = "clicked"  # a tracked link was followed; `url` is its target
    COMPLAINED = "complained"  # the recipient reported the message as spam
    UNSUBSCRIBED = "unsubscribed"  # the recipient asked to receive no more (link, List-Unsubscribe, STOP)
    REPLIED = "replied"  # the recipient answered (an inbound SMS that is not a STOP)
    RESPONDED = "responded"  # a letter's reader followed its QR code / short URL
    FAILED = "failed"  # the provider gave up (SMS undelivered or failed, with its error code)
    UNKNOWN = "unknown"  # anything else a provider reports; kept, never acted on


@dataclass(frozen=True)
class TrackingEvent:
    """One event, normalised; what `ingest` stores and `feedback` acts on.

    `provider_event_id` is the deduplication key within `provider` (a provider's own id, or one we
    derive deterministically, so a retried post carries the same key). `contact` is the e-mail
    address or phone number the event concerns: used to suppress a contact point, never logged.
    """

    provider: str
    provider_event_id: str
    event: EventType
    occurred_at: datetime
    raw: str
    """The provider's payload for this event, as JSON text."""
    message_key: str | None = None
    """Our key (`m<id>`) if the event carried it (SendGrid custom_args, Twilio callback URL, tokens)."""
    provider_message_id: str | None = None
    """The provider's id of the message (fallback match against `messages.provider_id`)."""
    channel: str | None = None
    """'email', 'sms' or 'letter'; 'all' for an unsubscribe from every channel."""
    contact: str | None = None
    machine: bool = False
    url: str | None = None
    reason: str | None = None
    bounce: Bounce | None = None
