"""The fund's notion of "today": the calendar date in Europe/Paris, not the server's UTC date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from outreach.config import TIMEZONE

PARIS = ZoneInfo(TIMEZONE)


def today_paris() -> date:
    """Today's date in Paris (a run at 00:30 Paris time on the 1st belongs to the 1st)."""
    return datetime.now(PARIS).date()


def utcnow() -> datetime:
    """Now in UTC, naive: how every timestamp is stored, whatever the database's own time zone."""
    return datetime.now(UTC).replace(tzinfo=None)
