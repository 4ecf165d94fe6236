"""What is due now: first steps whose schedule fired, and follow-up steps of recent waves.

The dispatcher holds no state of its own. A schedule that fired within the look-back period and has
no finished run for its wave is due; a missed run (a server down over the weekend) is therefore caught
up, and a run already done is not repeated. Follow-up steps of the waves of the last `horizon` are
always due: planning them is idempotent and only takes people whose wait has elapsed, so running them
every few minutes costs one query when nobody is ready. Work is ordered by campaign priority, so when
two campaigns compete for the same people's contact-pressure budget, the higher priority goes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select

from outreach.campaigns.library import CampaignLibrary
from outreach.campaigns.schedule import fire_times, wave_of
from outreach.clock import PARIS
from outreach.models import CampaignRun


@dataclass(frozen=True, order=True)
class DueWork:
    """One step of one wave to run now."""

    sort_key: tuple[int, str, int]
    campaign: str
    step: str
    wave: str
    as_of: date


def due_work(
    engine: Engine,
    library: CampaignLibrary,
    now: datetime,
    lookback: timedelta = timedelta(days=1),
    horizon: timedelta = timedelta(days=120),
) -> list[DueWork]:
    """Every step due at `now` (an aware datetime), highest priority first."""
    with engine.connect() as connection:
        runs = connection.execute(
            select(CampaignRun.campaign, CampaignRun.wave, CampaignRun.as_of, CampaignRun.status).where(
                CampaignRun.dry_run.is_(False),
                CampaignRun.started_at >= (now - horizon).astimezone(UTC).replace(tzinfo=None),
            )
        ).all()
    finished = {(r.campaign, r.wave) for r in runs if r.status == "done"}
    work: dict[tuple[str, str, str], DueWork] = {}
    for campaign in library.campaigns.values():
        order = -campaign.priority
        if campaign.schedule is not None:
            for moment in fire_times(campaign.schedule.cron, now - lookback, now):
                wave = wave_of(moment)
                if (campaign.name, wave) not in finished:
                    first = campaign.steps[0].name
                    work[(campaign.name, first, wave)] = DueWork(
                        (order, campaign.name, 0), campaign.name, first, wave, moment.astimezone(PARIS).date()
                    )
        for run in runs:
            if run.campaign != campaign.name:
                continue
            for index, step in enumerate(campaign.steps[1:], start=1):
                work[(campaign.name, step.name, run.wave)] = DueWork(
                    (order, campaign.name, index), campaign.name, step.name, run.wave, run.as_of
                )
    return sorted(work.values())
