"""What a campaign cost: sent e-mails, SMS segments and letters, at configurable unit prices.

Prices (euros, excluding VAT) come from the environment (`OUTREACH_PRICE_EMAIL`,
`OUTREACH_PRICE_SMS_SEGMENT`, `OUTREACH_PRICE_LETTER`), else from `reports.yaml` at the project root
(`prices: {email: ..., sms_segment: ..., letter: ...}`), else from the defaults below: orders of
magnitude for a public body in 2026, to be replaced by the fund's contract prices. An SMS is billed
per segment (a long or accented SMS is several); a message sent without a recorded segment count
counts as one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, func, select

from outreach.config import PROJECT_ROOT
from outreach.errors import ConfigurationError
from outreach.models import Message
from outreach.reports import aggregated
from outreach.reports.model import CostLine
from outreach.reports.scope import ReportScope
from outreach.yamlfiles import load_model

MESSAGES = Message.__table__
SETTINGS_FILE = PROJECT_ROOT / "reports.yaml"


class PriceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: float = Field(default=0.001, ge=0)
    sms_segment: float = Field(default=0.05, ge=0)
    letter: float = Field(default=0.95, ge=0, description="printing, envelope and postage")


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prices: PriceSettings = Field(default_factory=PriceSettings)


@dataclass(frozen=True)
class Prices:
    """Unit prices in euros: per e-mail, per SMS segment, per letter."""

    email: float
    sms_segment: float
    letter: float


def load_prices(path: Path | None = None) -> Prices:
    """The prices in force: environment, then `reports.yaml`, then defaults."""
    path = path or SETTINGS_FILE
    base = load_model(path, ReportSettings)[0].prices if path.is_file() else PriceSettings()
    values = {}
    for name in ("email", "sms_segment", "letter"):
        variable = f"OUTREACH_PRICE_{name.upper()}"
        raw = os.environ.get(variable)
        try:
            values[name] = float(raw.replace(",", ".")) if raw else getattr(base, name)
        except ValueError:
            raise ConfigurationError(f"{variable}={raw!r} is not a price (write euros, e.g. 0.05)") from None
    return Prices(**values)


def costs(connection: Connection, scope: ReportScope, prices: Prices) -> tuple[CostLine, ...]:
    """Sent messages and billed units per channel, priced (purged waves from their kept counts)."""
    query = (
        select(
            MESSAGES.c.channel,
            func.count(),
            func.coalesce(func.sum(func.coalesce(MESSAGES.c.sms_segments, 1)), 0),
        )
        .where(MESSAGES.c.run_id.in_(scope.run_ids), MESSAGES.c.status == "sent")
        .group_by(MESSAGES.c.channel)
    )
    sent: dict[str, tuple[int, int]] = {}
    for channel, messages, segments in [
        *connection.execute(query),
        *aggregated.sent(connection, scope.purged_run_ids),
    ]:
        before = sent.get(channel, (0, 0))
        sent[channel] = (before[0] + int(messages), before[1] + int(segments))
    unit_price = {"email": prices.email, "sms": prices.sms_segment, "letter": prices.letter}
    lines = []
    for channel, (messages, segments) in sent.items():
        units = int(segments) if channel == "sms" else int(messages)
        price = unit_price.get(channel, 0.0)
        lines.append(CostLine(channel, int(messages), units, price, round(units * price, 2)))
    return tuple(sorted(lines, key=lambda line: line.channel))
