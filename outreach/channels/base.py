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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from outreach.rendering.form import Form

Outcome = Literal["sent", "failed", "retry", "ambiguous"]


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


class Channel(Protocol):
    """A way of sending messages. Implementations live in their own modules (sendgrid, twilio, ...)."""

    name: str
    """The channel it serves: 'email', 'sms' or 'letter'."""

    max_batch: int
    """How many messages one `send` call takes at most."""

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send `batch`; returns exactly one result per message, in any order."""
        ...

    def reconcile(self, message_keys: Sequence[str]) -> Reconciliation:
        """Ask the provider which of these messages it actually received (after a crash or timeout)."""
        ...
