"""Everything a campaign run needs, assembled once from the environment: the one place that wires.

Flows, the CLI and the demo all start from `build_runtime()`, so a setting means the same thing
everywhere: the database (`OUTREACH_DATABASE_URL`), the providers (SendGrid/Twilio variables, or the
outbox), and the tracking service's links (`OUTREACH_TRACKING_SECRET` and `..._BASE_URL`; without a
secret, messages carry placeholder links under the reserved `.invalid` domain).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine

from outreach import migrate
from outreach.campaigns.library import CampaignLibrary, load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.channels.base import Channel
from outreach.channels.factory import build_channels
from outreach.db import default_engine
from outreach.privacy.config_versions import record_config_changes
from outreach.tracking.links import LinkBuilder
from outreach.tracking.settings import TrackingSettings
from outreach.tracking.tokens import TokenSigner
from outreach.tracking.twilio import MESSAGE_KEY_PARAM


@dataclass
class Runtime:
    """The database, the validated configuration files, the channels and the link builder."""

    engine: Engine
    library: CampaignLibrary
    channels: dict[str, Channel]
    links: LinkBuilder | None

    def runner(self, worker: str = "local") -> CampaignRunner:
        return CampaignRunner(
            self.engine,
            self.library,
            self.channels,
            links_for=self.links.for_message if self.links else None,
            worker=worker,
        )


def build_runtime(engine: Engine | None = None) -> Runtime:
    """Check the database and every configuration file, then build the channels."""
    engine = engine or default_engine()
    migrate.require_current(engine)
    library = load_campaigns()
    record_config_changes(engine)  # the trail shows which version of each file was in force
    links = None
    callback = None
    if os.environ.get("OUTREACH_TRACKING_SECRET") or os.environ.get("OUTREACH_TRACKING_SECRET_BLOCK"):
        settings = TrackingSettings.from_env()
        links = LinkBuilder(settings.base_url, TokenSigner(settings.secret))
        callback = f"{settings.base_url}/webhooks/twilio/status?{MESSAGE_KEY_PARAM}={{message_key}}"
    return Runtime(engine, library, build_channels(library.renderer, status_callback=callback), links)
