"""Deployments for the Prefect UI: every flow, its schedule (Paris time) and its typed parameters.

`outreach serve` registers them and runs them; the communication team changes a campaign's timing in
its file (the dispatcher reads it every few minutes), never by redeploying. One deployment per
campaign gives operators a form with the campaign filled in and "dry run" ticked.
"""

from __future__ import annotations

import os
from datetime import datetime

from prefect import serve
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectAlreadyExists
from prefect.schedules import Cron, Interval

from flows.campaigns import dispatch_due_campaigns, refresh_segments, run_campaign
from flows.forms import PURGE_FIELDS, label, run_campaign_form
from flows.privacy import purge_expired
from flows.reports import campaign_report, export_partner_list
from flows.tracking import ingest_events
from outreach.campaigns.library import CampaignLibrary
from outreach.campaigns.schedule import french_datetime, upcoming_runs
from outreach.clock import PARIS, TIMEZONE

PROVIDER_LIMITS = {
    "provider-email": (float(os.environ.get("OUTREACH_EMAIL_RATE", "3000")), 10_000),
    "provider-sms": (float(os.environ.get("OUTREACH_SMS_RATE", "10")), 1_000),
}
"""Global limits shared by every worker: name -> (messages per second, burst)."""

ONE_DISPATCHER = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
"""Dispatcher runs never overlap: a run due while the previous one still works is cancelled at once
(the next one, five minutes later, picks up whatever is still due), so slow runs cannot pile up."""


def deployments(library: CampaignLibrary) -> list[RunnerDeployment]:
    """Every deployment the operators see in the UI."""
    listed = [
        dispatch_due_campaigns.to_deployment(
            name="toutes-les-5-minutes",
            schedules=[Interval(300, timezone=TIMEZONE)],
            concurrency_limit=ONE_DISPATCHER,
            description=(
                "Lance les étapes dues : premiers envois planifiés, relances arrivées à échéance. Une "
                "seule exécution à la fois : celle qui arrive pendant qu'une autre tourne est annulée."
            ),
            tags=["dispatch"],
        ),
        refresh_segments.to_deployment(
            name="chaque-matin",
            schedules=[Cron("0 6 * * *", timezone=TIMEZONE)],
            description="Met à jour chaque segment à 6 h : qui entre, qui sort.",
            tags=["segments"],
        ),
        ingest_events.to_deployment(
            name="toutes-les-10-minutes",
            schedules=[Interval(600, timezone=TIMEZONE)],
            description="Rejoue les événements mis de côté pendant une panne ; recalcule les affinités.",
            tags=["tracking"],
        ),
        label(
            purge_expired.to_deployment(
                name="chaque-nuit",
                schedules=[Cron("30 3 * * *", timezone=TIMEZONE)],
                parameters={"dry_run": False},
                description=(
                    "Efface ce qui a passé sa durée de conservation (retention.yaml), garde les comptes."
                ),
                tags=["privacy"],
            ),
            PURGE_FIELDS,
        ),
        label(
            purge_expired.to_deployment(
                name="manuel",
                parameters={"dry_run": True},
                description="Purge lancée à la main : à blanc par défaut (compte sans rien supprimer).",
                tags=["privacy"],
            ),
            PURGE_FIELDS,
        ),
        export_partner_list.to_deployment(
            name="manuel",
            description="Écrire la liste d'un partenaire (colonnes autorisées, manifeste, journal d'audit).",
            tags=["partners"],
        ),
        campaign_report.to_deployment(
            name="manuel",
            parameters={"format": "html"},
            description="Le bilan d'une campagne : entonnoir, délais, satisfaction, coût, effet mesuré.",
            tags=["reports"],
        ),
        run_campaign_form(
            run_campaign.to_deployment(
                name="manuel",
                parameters={"dry_run": True},
                description="Lancer une étape de n'importe quelle campagne (répétition par défaut).",
                tags=["campaign"],
            ),
            library,
        ),
    ]
    now = datetime.now(PARIS)
    for campaign in library.campaigns.values():
        runs = upcoming_runs(campaign, now, count=1)
        timing = (
            f"Planifiée ({campaign.schedule.cron}, prochain envoi le {french_datetime(runs[0].at)}) par le "
            "répartiteur."
            if campaign.schedule and runs
            else "Sans planification : lancement manuel."
        )
        listed.append(
            run_campaign_form(
                run_campaign.to_deployment(
                    name=campaign.name.replace("_", "-"),
                    parameters={"campaign": campaign.name, "dry_run": True},
                    description=f"{campaign.description.strip()}\n\n{timing}",
                    tags=["campaign", campaign.journey],
                ),
                library,
                campaign,
            )
        )
    return listed


def ensure_provider_limits() -> None:
    """Create the providers' global rate limits if they do not exist yet."""
    with get_client(sync_client=True) as client:
        for name, (per_second, burst) in PROVIDER_LIMITS.items():
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=burst, slot_decay_per_second=per_second)
                )
            except ObjectAlreadyExists:
                continue


def serve_all(library: CampaignLibrary) -> None:
    """Register every deployment and run their flows in this process until interrupted."""
    ensure_provider_limits()
    serve(*deployments(library))
