"""Export and report flows: a partner list, and a campaign report attached to the run as artifacts.

Thin flows over `outreach.exports` and `outreach.reports`. Artifacts and logs carry counts, file
names and checksums, never a person. The audit log names the Prefect user who started the run when
the server knows one (Prefect Cloud), else the account running the worker.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from flows.runtime import runtime
from outreach.clock import today_paris
from outreach.config import var_dir
from outreach.exports import export as exports
from outreach.exports.profile import load_profile
from outreach.reports.build import build_report, render, write_report
from outreach.reports.labels import CHANNELS, MEASURES, label
from outreach.reports.uplift import DEFAULT_WINDOW_DAYS


def prefect_actor() -> str | None:
    """Who started this flow run, as Prefect records it (a user or an automation), if anyone."""
    run_id = flow_run.get_id()
    if not run_id:
        return None
    with get_client(sync_client=True) as client:
        created_by = client.read_flow_run(run_id).created_by
    if created_by is None:
        return None
    return f"prefect:{created_by.display_value or created_by.id}"


@flow(name="export-partner-list")
def export_partner_list(partner: str, as_of: date | None = None, out: str | None = None) -> dict[str, Any]:
    """Write a partner's list (file, manifest, audit entry) as of a date (default: today in Paris)."""
    library = runtime().library.segments
    loaded = load_profile(partner, library)
    result = exports.export_partner_list(
        runtime().engine,
        loaded.profile,
        library,
        as_of or today_paris(),
        Path(out) if out else None,
        prefect_actor(),
        public_key=loaded.public_key_path,
    )
    summary = {"profil": partner, "lignes": result.rows, "fichier": result.path.name, "sha256": result.sha256}
    create_table_artifact(
        key=f"export-{partner}".replace("_", "-"), table=[summary], description="Export partenaire"
    )
    get_run_logger().info("exported %s rows for %s (audit entry %s)", result.rows, partner, result.audit_id)
    return {**summary, "audit_id": result.audit_id}


@flow(name="campaign-report")
def campaign_report(
    campaign: str,
    run_id: int | None = None,
    format: str = "html",
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> dict[str, Any]:
    """Build a campaign's report, write it under var/reports/, and attach its summary as artifacts."""
    definition = runtime().library.get(campaign)
    report = build_report(runtime().engine, definition, run_id, window_days)
    suffix = f"-run{run_id}" if run_id else ""
    path = write_report(
        runtime().engine,
        report,
        format,
        var_dir() / "reports" / f"{campaign}{suffix}.{format}",
        prefect_actor(),
    )
    key = f"report-{campaign}".replace("_", "-")
    create_markdown_artifact(key=key, markdown=render(report, "md"), description=f"Bilan de {campaign}")
    create_table_artifact(
        key=f"{key}-funnel",
        table=[
            {
                "étape": row.step,
                "canal": label(CHANNELS, row.group),
                **{MEASURES[m]: n for m, n in row.counts.items()},
            }
            for row in report.funnel
        ],
        description="Entonnoir par étape et canal",
    )
    totals = report.totals()
    get_run_logger().info(
        "report of %s: %s targeted, %s sent; %s", campaign, totals["targeted"], totals["sent"], path
    )
    return {
        "campaign": campaign,
        "path": str(path),
        "totals": totals,
        "runs": [run.id for run in report.runs],
    }
