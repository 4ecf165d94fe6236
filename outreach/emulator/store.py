"""The emulator's memory: what was delivered, what was reported, what went wrong.

Append-only lists and dicts touched from the event loop only (one thread), so no locks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class DeliveredEmail:
    """What one recipient of a SendGrid request receives (bodies empty when content is not stored)."""

    recipient: str
    subject: str
    html: str | None
    text: str | None
    custom_args: dict[str, str]
    categories: list[str]
    sg_message_id: str
    x_message_id: str
    from_email: str
    created: float
    template_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """The request's `headers` with its personalization's over them (List-Unsubscribe...)."""


@dataclass
class Store:
    """Everything one emulator run remembers; `reset()` forgets it between tests."""

    emails: list[DeliveredEmail] = field(default_factory=list)
    emails_by_arg: dict[tuple[str, str], list[DeliveredEmail]] = field(default_factory=dict)
    sms: dict[str, dict[str, Any]] = field(default_factory=dict)
    sms_order: list[str] = field(default_factory=list)
    sendgrid_events: list[dict[str, Any]] = field(default_factory=list)
    twilio_callbacks: list[dict[str, Any]] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)

    def add_email(self, email: DeliveredEmail) -> None:
        """Keep a delivered e-mail, indexed by each custom arg for the activity lookup."""
        self.emails.append(email)
        for name, value in email.custom_args.items():
            self.emails_by_arg.setdefault((name, value), []).append(email)

    def add_sms(self, resource: dict[str, Any]) -> None:
        """Keep an accepted SMS resource (listed newest first)."""
        self.sms[resource["sid"]] = resource
        self.sms_order.append(resource["sid"])

    def reset(self) -> None:
        """Forget every message, event and counter."""
        self.emails.clear()
        self.emails_by_arg.clear()
        self.sms.clear()
        self.sms_order.clear()
        self.sendgrid_events.clear()
        self.twilio_callbacks.clear()
        self.counters.clear()
