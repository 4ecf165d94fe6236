"""What the emulator does: credentials it accepts, events it reports, faults it injects.

Everything is a frozen dataclass so a running emulator swaps its whole configuration atomically
(`POST /_emulator/config`) and a test can state exactly the behaviour it relies on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Faults:
    """Probabilities (0..1, summed must stay <= 1) that a send request meets each fault.

    `timeout` holds the connection without storing anything (the client times out, nothing was
    sent); `accept_then_timeout` stores the message and then stalls (a genuinely ambiguous outcome
    that reconciliation must resolve).
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    slow: float = 0.0
    timeout: float = 0.0
    accept_then_timeout: float = 0.0
    retry_after: float = 1.0
    """Seconds announced in the 429's Retry-After header (fractions are allowed for fast tests)."""
    slow_seconds: float = 0.5
    hold_seconds: float = 30.0
    """How long a timed-out request is held; longer than any client's timeout."""

    @classmethod
    def spread(cls, rate: float, **overrides: Any) -> Faults:
        """A realistic mix of faults summing to `rate`: mostly throttling and server errors."""
        mix = {"rate_429": 0.4, "rate_500": 0.25, "rate_503": 0.15, "slow": 0.1}
        mix |= {"timeout": 0.05, "accept_then_timeout": 0.05}
        return cls(**{name: share * rate for name, share in mix.items()}, **overrides)

    def total(self) -> float:
        """The probability that a request meets any fault."""
        return (
            self.rate_429
            + self.rate_500
            + self.rate_503
            + self.slow
            + self.timeout
            + self.accept_then_timeout
        )


@dataclass(frozen=True)
class EmailEventRates:
    """Probabilities of what becomes of an accepted e-mail (each drawn independently, in order)."""

    dropped: float = 0.01
    bounce: float = 0.02
    """Hard bounce (`bounce` event, type "bounce")."""
    blocked: float = 0.01
    """Refused by the receiving server (`bounce` event, type "blocked")."""
    deferred: float = 0.05
    """A temporary refusal before the final delivery."""
    machine_open: float = 0.3
    """Apple Mail Privacy Protection and scanners: an open with `sg_machine_open` true."""
    human_open: float = 0.35
    click: float = 0.1
    """Probability of a click given a human open."""


@dataclass(frozen=True)
class SmsEventRates:
    """Probabilities of an accepted SMS ending undelivered or failed (otherwise delivered)."""

    undelivered: float = 0.02
    failed: float = 0.01


@dataclass(frozen=True)
class EmulatorConfig:
    """The whole behaviour of one emulator instance."""

    sendgrid_api_key: str | None = None
    """The only Bearer key accepted; None accepts any non-empty key."""
    twilio_account_sid: str = "AC" + "0" * 32
    twilio_auth_token: str = "emulator-auth-token"
    sendgrid_webhook_url: str | None = None
    """Where signed SendGrid event batches are posted; None keeps them in memory."""
    events: bool = True
    """False generates no event at all (benchmarks of the bare request path)."""
    event_delay: float = 0.0
    """Seconds between acceptance and the first event."""
    event_spacing: float = 0.0
    """Seconds between two successive events of one message."""
    email_events: EmailEventRates = field(default_factory=EmailEventRates)
    sms_events: SmsEventRates = field(default_factory=SmsEventRates)
    sendgrid_faults: Faults = field(default_factory=Faults)
    twilio_faults: Faults = field(default_factory=Faults)
    seed: int | None = None
    """Seeds the fault and event draws so a sequential test sees the same faults every run."""
    store_content: bool = True
    """False keeps only identifiers of delivered messages (large benchmarks), not their bodies."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, the inverse of `EmulatorConfig.updated({})` on defaults."""
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> EmulatorConfig:
        """A copy with `changes` applied; nested sections may be given partially."""
        return _replace_nested(self, changes)


def _replace_nested(instance: Any, changes: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(instance)}
    unknown = set(changes) - set(known)
    if unknown:
        raise ValueError(f"unknown emulator setting(s): {', '.join(sorted(unknown))}")
    values = {}
    for name, value in changes.items():
        current = getattr(instance, name)
        values[name] = _replace_nested(current, value) if is_dataclass(current) else value
    return replace(instance, **values)
