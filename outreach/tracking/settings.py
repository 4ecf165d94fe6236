"""The tracking service's settings: from the environment, or a Prefect Secret block for the secret.

OUTREACH_TRACKING_SECRET               HMAC secret of our link tokens (>= 16 bytes; 32+ advised)
OUTREACH_TRACKING_SECRET_BLOCK         or: the name of a Prefect Secret block holding it
OUTREACH_TRACKING_BASE_URL             the public URL of the service (links, Twilio signatures)
OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY   SendGrid's verification key (base64 DER, from its settings)
OUTREACH_TWILIO_AUTH_TOKEN             the Twilio auth token that signs callbacks
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from outreach.config import var_dir
from outreach.errors import ConfigurationError

DEFAULT_BASE_URL = "http://127.0.0.1:8026"
MAX_BODY_BYTES = 5 * 1024 * 1024
"""SendGrid posts at most a few hundred kB per batch; anything far bigger is refused (413)."""


@dataclass(frozen=True)
class TrackingSettings:
    """Everything the tracking service and the link builder need; secrets never appear in repr."""

    secret: bytes
    base_url: str = DEFAULT_BASE_URL
    sendgrid_public_key: str | None = None
    twilio_auth_token: str | None = None
    spool_dir: Path | None = None
    """Where batches go when the database is unavailable (default: var/spool)."""
    max_body_bytes: int = MAX_BODY_BYTES
    timestamp_tolerance_seconds: int = 300
    replay_interval_seconds: float = 30.0

    def __repr__(self) -> str:
        return f"TrackingSettings(base_url={self.base_url!r}, spool_dir={self.spool_dir!r})"

    @property
    def spool(self) -> Path:
        return self.spool_dir or var_dir() / "spool"

    @classmethod
    def from_env(cls) -> TrackingSettings:
        """Read the settings; a missing secret is a configuration error with its fix."""
        return cls(
            secret=_secret(),
            base_url=os.environ.get("OUTREACH_TRACKING_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
            sendgrid_public_key=os.environ.get("OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
            twilio_auth_token=os.environ.get("OUTREACH_TWILIO_AUTH_TOKEN") or None,
        )


def _secret() -> bytes:
    value = os.environ.get("OUTREACH_TRACKING_SECRET")
    block = os.environ.get("OUTREACH_TRACKING_SECRET_BLOCK")
    if not value and block:
        from prefect.blocks.system import Secret  # imported only here: Prefect is slow to import

        value = Secret.load(block).get()
    if not value or len(value.encode()) < 16:
        raise ConfigurationError(
            "the tracking secret is missing or shorter than 16 bytes: set OUTREACH_TRACKING_SECRET "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) or "
            "OUTREACH_TRACKING_SECRET_BLOCK to a Prefect Secret block."
        )
    return value.encode()
