"""Reading the audit trail: filters an operator or a data-protection officer asks for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from outreach.audit import AUDIT


@dataclass(frozen=True)
class AuditFilter:
    """What to list: every field is optional; entries come newest first."""

    action: str | None = None
    actor: str | None = None
    target: str | None = None
    since: datetime | None = None
    limit: int = 100


def list_entries(connection: Connection, wanted: AuditFilter) -> list[dict[str, Any]]:
    """Entries matching `wanted`, newest first, with their JSON details decoded."""
    query = select(AUDIT).order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc()).limit(wanted.limit)
    if wanted.action:
        query = query.where(AUDIT.c.action == wanted.action)
    if wanted.actor:
        query = query.where(AUDIT.c.actor == wanted.actor)
    if wanted.target:
        query = query.where(AUDIT.c.target == wanted.target)
    if wanted.since:
        query = query.where(AUDIT.c.at >= wanted.since)
    return [
        {**row._asdict(), "details": json.loads(row.details or "{}")} for row in connection.execute(query)
    ]
