"""The export and report flows on Prefect's test server: files written, artifacts attached, audit kept."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import Engine, select

from flows.reports import campaign_report, export_partner_list
from outreach.models import AuditEntry
from outreach.segments.history import refresh
from outreach.segments.library import load_library
from tests.people import load, person
from tests.test_reports import CAMPAIGN, small_campaign


@pytest.fixture
def database(flow_database: Engine, prefect_server: None) -> Engine:
    return flow_database


def test_the_report_flow_writes_the_report_and_attaches_its_summary(database: Engine) -> None:
    small_campaign(database)
    result = campaign_report(CAMPAIGN, format="md")

    assert result["totals"]["targeted"] == 14
    assert "| Ciblés | 14 |" in Path(result["path"]).read_text(encoding="utf-8")
    with get_client(sync_client=True) as client:
        keys = {artifact.key for artifact in client.read_artifacts()}
    assert {"report-career-statement-35", "report-career-statement-35-funnel"} <= keys
    with database.connect() as connection:
        reports = connection.execute(select(AuditEntry).where(AuditEntry.action == "report")).all()
    assert [(entry.target, entry.count) for entry in reports] == [(CAMPAIGN, 14)]


def test_the_export_flow_writes_the_partners_list_and_an_audit_entry(
    database: Engine, tmp_path: Path
) -> None:
    load(database, [person(i, date(1968, 3, 10)) for i in range(3)], opt_outs=[("P00002", "partner_sharing")])
    with database.begin() as connection:
        for name in ("pre_retirees", "apply_for_retirement_accompanied"):
            refresh(connection, load_library(), name, date(2026, 11, 26))
    result = export_partner_list(
        "france_services_vienne", as_of=date(2026, 11, 26), out=str(tmp_path / "out")
    )

    assert result["lignes"] == 2
    manifest = json.loads(
        (tmp_path / "out" / (result["fichier"] + ".manifest.json")).read_text(encoding="utf-8")
    )
    assert manifest["rows"] == 2 and manifest["sha256"] == result["sha256"]
    with database.connect() as connection:
        entry = connection.execute(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert (entry.action, entry.target, entry.count) == ("export", "france_services_vienne", 2)
