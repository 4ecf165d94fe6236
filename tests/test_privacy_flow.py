"""The nightly purge as Prefect runs it: counts in an artifact, the audit entry, a dry run untouched."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import Engine, func, select

from flows.privacy import purge_expired
from outreach.campaigns.library import load_campaigns
from outreach.models import AuditEntry, Message
from tests.people import load, person
from tests.privacy_support import outbox_runner


@pytest.fixture
def database(flow_database: Engine, prefect_server: None) -> Engine:
    return flow_database


def test_the_purge_flow_reports_its_counts_and_a_dry_run_deletes_nothing(
    database: Engine, tmp_path: Path
) -> None:
    load(database, [person(i, date(1989, 1, 9)) for i in range(6)])  # 35 in January 2024
    old = outbox_runner(database, load_campaigns(), tmp_path).run_step(
        "career_statement_35", "first_contact", date(2024, 1, 15), now=datetime(2024, 1, 15, 9, 30)
    )
    rehearsal = purge_expired(dry_run=True)
    with database.connect() as connection:
        kept = connection.scalar(select(func.count()).select_from(Message))
    result = purge_expired()
    with get_client(sync_client=True) as client:
        artifacts = {artifact.key: artifact for artifact in client.read_artifacts()}

    assert rehearsal["counts"]["messages"] == kept == 6 and rehearsal["aggregated_runs"] == []
    assert result["counts"]["messages"] == 6 and result["aggregated_runs"] == [old.run_id]
    assert {"purge-dry-run", "purge"} <= set(artifacts)
    with database.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Message)) == 0
        [details] = connection.scalars(select(AuditEntry.details).where(AuditEntry.action == "purge")).all()
    assert json.loads(details)["deleted"]["messages"] == 6
