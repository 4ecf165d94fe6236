"""The one interface every channel implements: send a batch, say what became of each message.

The sending pipeline owns the message rows and their state machine; a channel only turns rendered
messages into provider calls and reports one `SendResult` per message, classified so the pipeline
knows what to do next:

- `sent`: the provider accepted it (it has a `provider_id` when the provider gives one);
- `failed`: permanently refused for this message (a 4xx: bad address, refused content) — kept with
  its reason, never retried;
- `retry`: a transient fault (429, 5xx, connection refused) that outlived the channel's own retries —
  the message stays queued for a later attempt;
- `ambiguous`: the request may have reached the provider but no answer came back (a timeout after
  sending) — never resent blindly; `reconcile` asks the provider later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from outreach.rendering.form import Form

Outcome = Literal["sent", "failed", "retry", "ambiguous"]

PROVIDER_SETTLE_SECONDS = 30.0
"""How long a provider's lookup may lag behind a request it received, by default: a request is held
by the client for its timeout (15-30 s) at most, and the provider stores what it accepted within
that. Only a recovery that found nothing waits this long before queueing again (`settle_seconds`)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """A fully rendered message for one person; `message_key` travels with it to the provider."""

    message_key: str
    person_id: str
    channel: str
    to: str
    body: str
    subject: str | None = None
    html: str | None = None
    categories: tuple[str, ...] = ()
    body_form: Form | None = None
    """`body` as its template's texts and this message's values, when rendered from a stencil..."""
    html_form: Form | None = None
    """...and `html` likewise: a channel may send the texts once for many messages (see `Form`)."""
    template: str | None = None
    """Letters only: the template the print channel lays out into its batch PDF..."""
    context: Mapping[str, Any] | None = None
    """...and the rendering context it is laid out with (letters are rendered page by page in the batch)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """E-mails only: this message's own headers (List-Unsubscribe with its signed URL, its class),
    sent as they are on every e-mail channel."""


@dataclass(frozen=True)
class SendResult:
    """What became of one message."""

    message_key: str
    outcome: Outcome
    provider_id: str | None = None
    reason: str | None = None
    segments: int | None = None


@dataclass(frozen=True)
class Reconciliation:
    """What a provider knows of messages whose outcome was ambiguous: key -> provider id if it has it.

    `complete` is False when the provider cannot be asked (no way to find our messages): then a key
    missing from `found` proves nothing, and the message must stay ambiguous rather than be resent.
    """

    found: dict[str, str] = field(default_factory=dict)
    complete: bool = True


@dataclass(frozen=True)
class HandedOver:
    """What a message was when it was handed to the provider: how `reconcile` recognises it at a
    provider that keeps nothing of ours (Twilio lists messages by number, with their body)."""

    to: str
    body_digest: str
    """`content_digest` of the body, as sent."""
    at: float
    """Epoch seconds, taken before the request left (the claim)."""


def content_digest(body: str) -> str:
    """The digest of a message body that `HandedOver` keeps (never the text itself)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Channel(Protocol):
    """A way of sending messages. Implementations live in their own modules (sendgrid, twilio, ...)."""

    name: str
    """The channel it serves: 'email', 'sms' or 'letter'."""

    max_batch: int
    """How many messages one `send` call takes at most."""

    settle_seconds: float
    """How long after a request the provider's lookup (`reconcile`) is sure to show it: a request a
    crashed worker had in flight may still land meanwhile, so "not found" proves nothing before that.
    Zero for channels that write synchronously (an outbox folder, a print drop)."""

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send `batch`; returns exactly one result per message, in any order."""
        ...

    reconciles_by_content: bool
    """Whether `reconcile` recognises messages by what they said (`HandedOver`), not by a key the
    provider keeps: the pipeline then records a digest of each body it hands over, so another worker
    can settle them after a crash."""

    def reconcile(
        self, message_keys: Sequence[str], handed: Mapping[str, HandedOver] | None = None
    ) -> Reconciliation:
        """Ask the provider which of these messages it actually received (after a crash or timeout).

        `handed` tells, for keys handed over by another process, what they were (channels that
        `reconciles_by_content`; the others ignore it)."""
        ...
