"""Assemble a campaign report from the database, and write it (the CLI and the flow call these)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from outreach import audit
from outreach.campaigns.definition import Campaign
from outreach.clock import utcnow
from outreach.reports.costs import Prices, costs, load_prices
from outreach.reports.funnel import funnel_and_breakdowns, reasons, segment_breakdown
from outreach.reports.model import CampaignReport
from outreach.reports.render import render_html, render_markdown
from outreach.reports.satisfaction import satisfaction
from outreach.reports.scope import resolve_scope
from outreach.reports.timing import daily_engagement, delivery_times
from outreach.reports.uplift import DEFAULT_WINDOW_DAYS, ab_tests, holdout_uplift

FORMATS = ("html", "md", "json")


def build_report(
    engine: Engine,
    campaign: Campaign,
    run_id: int | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    prices: Prices | None = None,
) -> CampaignReport:
    """Every figure of the report for `campaign` (all its real runs, or run `run_id`)."""
    prices = prices or load_prices()
    with engine.connect() as connection:
        scope = resolve_scope(connection, campaign, run_id)
        funnel, breakdowns = funnel_and_breakdowns(connection, scope)
        breakdowns["segment"] = segment_breakdown(connection, scope)
        return CampaignReport(
            campaign=campaign.name,
            description=" ".join(campaign.description.split()),
            journey=campaign.journey,
            segment=campaign.segment,
            holdout_share=campaign.holdout,
            runs=scope.runs,
            generated_at=utcnow().isoformat(timespec="seconds") + "Z",
            outcome_window_days=window_days,
            funnel=funnel,
            reasons=reasons(connection, scope),
            breakdowns=breakdowns,
            delivery_times=delivery_times(connection, scope),
            engagement=daily_engagement(connection, scope),
            satisfaction=satisfaction(connection, scope),
            costs=costs(connection, scope, prices),
            uplift=holdout_uplift(connection, scope, window_days),
            ab_tests=ab_tests(connection, scope, window_days),
        )


def render(report: CampaignReport, format: str) -> str:
    """The report as text in `format` (html, md or json)."""
    if format == "html":
        return render_html(report)
    if format == "md":
        return render_markdown(report)
    if format == "json":
        return json.dumps(report.as_json(), ensure_ascii=False, indent=2)
    raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")


def write_report(
    engine: Engine, report: CampaignReport, format: str, path: Path, actor: str | None = None
) -> Path:
    """Write the report to `path` and record it in the audit log (it is a summary of people's data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report, format), encoding="utf-8")
    with engine.begin() as connection:
        audit.record(
            connection,
            "report",
            report.campaign,
            report.totals()["targeted"],
            {"file": path.name, "format": format, "runs": [run.id for run in report.runs]},
            actor=actor,
        )
    return path
