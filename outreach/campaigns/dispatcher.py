"""What is due now: first steps whose schedule fired, and follow-up steps of recent waves.

The dispatcher holds no state of its own. A schedule that fired within the look-back period and has no
finished run for its wave is due; a missed run (a server down over the weekend) is therefore caught up,
and a run already done is not repeated. A wave still holding messages in doubt (`sending` or
`ambiguous`, left by a crash or a timeout) is due however old, until they are settled. Follow-up steps
of the waves of the last `horizon` are always due: planning them is idempotent and only takes people
whose wait has elapsed, so running them every few minutes costs one query when nobody is ready. Work is
ordered by campaign priority, so when two campaigns compete for the same people's contact-pressure
budget, the higher priority goes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, and_, exists, select

from outreach.campaigns.library import CampaignLibrary
from outreach.campaigns.schedule import fire_times, wave_of
from outreach.clock import PARIS
from outreach.delivery.pipeline import IN_DOUBT
from outreach.models import CampaignRun, Message


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
    recent = and_(
        CampaignRun.dry_run.is_(False),
        CampaignRun.started_at >= (now - horizon).astimezone(UTC).replace(tzinfo=None),
    )
    with engine.connect() as connection:
        runs = connection.execute(
            select(CampaignRun.campaign, CampaignRun.wave, CampaignRun.as_of, CampaignRun.status).where(
                recent
            )
        ).all()
        in_doubt = connection.execute(
            select(CampaignRun.campaign, CampaignRun.wave, CampaignRun.as_of)
            .where(recent, CampaignRun.status != "done")
            .where(exists().where(Message.run_id == CampaignRun.id, Message.status.in_(IN_DOUBT)))
        ).all()
    finished = {(r.campaign, r.wave) for r in runs if r.status == "done"}
    work: dict[tuple[str, str, str], DueWork] = {}
    for campaign in library.campaigns.values():
        order, first = -campaign.priority, campaign.steps[0].name
        if campaign.schedule is not None:
            for moment in fire_times(campaign.schedule.cron, now - lookback, now):
                wave = wave_of(moment)
                if (campaign.name, wave) not in finished:
                    work[(campaign.name, first, wave)] = DueWork(
                        (order, campaign.name, 0), campaign.name, first, wave, moment.astimezone(PARIS).date()
                    )
        for run in in_doubt:  # messages a crash or a timeout left in doubt: settled whatever the wave's age
            if run.campaign == campaign.name:
                work.setdefault(
                    (campaign.name, first, run.wave),
                    DueWork((order, campaign.name, 0), campaign.name, first, run.wave, run.as_of),
                )
        for run in runs:
            if run.campaign != campaign.name:
                continue
            for index, step in enumerate(campaign.steps[1:], start=1):
                work[(campaign.name, step.name, run.wave)] = DueWork(
                    (order, campaign.name, index), campaign.name, step.name, run.wave, run.as_of
                )
    return sorted(work.values())
