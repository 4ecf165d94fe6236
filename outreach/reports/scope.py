"""Which waves a report covers: every real run of a campaign, or one run; rehearsals never count."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from outreach.campaigns.definition import Campaign
from outreach.errors import ConfigurationError
from outreach.models import CampaignRun
from outreach.reports.aggregated import purged_run_ids
from outreach.reports.model import RunInfo

RUNS = CampaignRun.__table__


@dataclass(frozen=True)
class ReportScope:
    """The campaign (its file) and the ids of the runs whose messages the report counts."""

    campaign: Campaign
    runs: tuple[RunInfo, ...]

    @property
    def run_ids(self) -> list[int]:
        return [run.id for run in self.runs]

    @property
    def live_runs(self) -> list[RunInfo]:
        """The runs whose messages are still held (every figure can be computed)."""
        return [run for run in self.runs if not run.purged]

    @property
    def purged_run_ids(self) -> list[int]:
        """The runs retention purged: only their counts remain."""
        return [run.id for run in self.runs if run.purged]

    @property
    def entry_step(self) -> str:
        """The step that reaches the whole audience: where holdout and contacted groups are compared."""
        return self.campaign.steps[0].name

    @property
    def step_order(self) -> dict[str, int]:
        return {step.name: index for index, step in enumerate(self.campaign.steps)}


def resolve_scope(connection: Connection, campaign: Campaign, run_id: int | None = None) -> ReportScope:
    """The runs of `campaign` to report on (all real runs, or run `run_id` which must be one of them)."""
    query = select(RUNS).where(RUNS.c.campaign == campaign.name).order_by(RUNS.c.as_of, RUNS.c.id)
    if run_id is not None:
        query = query.where(RUNS.c.id == run_id)
    rows = connection.execute(query).all()
    if run_id is not None and not rows:
        raise ConfigurationError(f"run {run_id} is not a run of campaign '{campaign.name}'")
    if run_id is not None and rows[0].dry_run:
        raise ConfigurationError(
            f"run {run_id} is a dry run: rehearsals contacted nobody and are not reported"
        )
    real = [r for r in rows if not r.dry_run]
    purged = purged_run_ids(connection, [r.id for r in real])
    runs = tuple(RunInfo(r.id, r.wave, r.as_of, r.status, r.id in purged) for r in real)
    if not runs:
        raise ConfigurationError(
            f"campaign '{campaign.name}' has no real run yet (dry runs are not reported); "
            f"run it with `outreach campaigns run {campaign.name} --send` or its Prefect deployment"
        )
    return ReportScope(campaign, runs)
