"""The channels of a campaign test: the official SDKs against the emulator, letters into a drop folder."""

from __future__ import annotations

from pathlib import Path

from outreach.channels.base import Channel
from outreach.channels.print_batch import DropFolder, PrintChannel
from outreach.channels.retry import RetryPolicy
from outreach.channels.sendgrid_email import SendGridChannel
from outreach.channels.twilio_sms import TwilioChannel
from outreach.emulator.running import EmulatorHandle
from outreach.rendering.renderer import Renderer

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
CALLBACK = "http://127.0.0.1:9/webhooks/twilio/status?m={message_key}"
"""Where Twilio would report deliveries: it carries our key, which is what reconciliation looks for."""


SETTLE_SECONDS = 3.0
"""The emulator stores a request when it accepts it; its slowest fault holds one 1.5 s before that."""


def emulated_channels(
    emulator: EmulatorHandle, renderer: Renderer, folder: Path, timeout: float = 15.0
) -> dict[str, Channel]:
    """E-mail and SMS through the emulator (fast retries), letters handed over to `folder / drop`."""
    return {
        "email": SendGridChannel(
            emulator.api_key,
            host=emulator.sendgrid_host,
            sender=("ne-pas-repondre@carsat-centreouest.fr", "CARSAT Centre-Ouest"),
            timeout=timeout,
            retry=FAST,
            settle_seconds=SETTLE_SECONDS,
        ),
        "sms": TwilioChannel(
            emulator.account_sid,
            emulator.auth_token,
            sender="CARSAT CO",
            base_url=emulator.twilio_base,
            status_callback=CALLBACK,
            rate_per_second=2000,
            timeout=timeout,
            retry=FAST,
            settle_seconds=SETTLE_SECONDS,
        ),
        "letter": PrintChannel(renderer, DropFolder(folder / "drop"), folder / "work"),
    }
