"""When campaigns run: cron expressions read in Paris time, with holidays and send windows in view.

croniter on aware Paris datetimes handles daylight saving time, but at the autumn change a 02:30 run
fires twice and at the spring change it moves to 03:00. Runs are therefore identified by their *wave*
(the Paris calendar date they belong to), not by their instant, so the second 02:30 of the autumn
change is the same wave as the first and sends nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from outreach.campaigns.definition import Campaign
from outreach.clock import PARIS
from outreach.delivery.windows import DEFAULT_WINDOWS, holiday_name
from outreach.rendering.french import french_date


def fire_times(cron: str, after: datetime, until: datetime) -> Iterator[datetime]:
    """Fire times of `cron` (Paris time) in (after, until], as aware Paris datetimes."""
    iterator = croniter(cron, after.astimezone(PARIS))
    while True:
        moment = iterator.get_next(datetime)
        if moment > until:
            return
        yield moment


def wave_of(moment: datetime) -> str:
    """The wave a fire time belongs to: its calendar date in Paris (one wave a day at most)."""
    return moment.astimezone(PARIS).date().isoformat()


@dataclass(frozen=True)
class PlannedRun:
    """One upcoming run of a campaign, with what an operator should know about it."""

    campaign: str
    at: datetime
    holiday: str | None
    closed_channels: tuple[str, ...]
    """Channels of the first step whose send window is closed at that time (their messages will wait)."""

    @property
    def wave(self) -> str:
        return wave_of(self.at)


def upcoming_runs(campaign: Campaign, start: datetime, count: int = 5) -> list[PlannedRun]:
    """The next `count` runs of `campaign` after `start` (none if it has no schedule)."""
    if campaign.schedule is None:
        return []
    iterator = croniter(campaign.schedule.cron, start.astimezone(PARIS))
    runs, waves = [], set()
    while len(runs) < count:
        moment: datetime = iterator.get_next(datetime)
        if wave_of(moment) in waves:
            continue  # the repeated hour of the autumn change: the same wave
        waves.add(wave_of(moment))
        closed = tuple(c for c in campaign.steps[0].channels if not DEFAULT_WINDOWS[c].is_open(moment))
        runs.append(PlannedRun(campaign.name, moment, holiday_name(moment.date()), closed))
    return runs


FRENCH_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def french_datetime(moment: datetime) -> str:
    """'jeudi 3 décembre 2026 à 09h00' (Paris time), as the communication team reads dates."""
    local = moment.astimezone(PARIS)
    return f"{FRENCH_WEEKDAYS[local.weekday()]} {french_date(local.date())} à {local:%Hh%M}"
