"""The audit log: who did what to which people's data, when, and how many.

Append-only by construction: this module offers `record` and reads, nothing that updates or deletes, and
the database refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) on the table (migration 0006). Entries
carry counts, file names, checksums and versions; an act on one person (an objection, a look at their
file) names them by their fund identifier only — never a name or a contact detail — and an erasure
by the keyed hash of that identifier. The log can be shown to a data-protection officer as it is.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from outreach.clock import utcnow
from outreach.models import AuditEntry

AUDIT = AuditEntry.__table__


def os_user() -> str:
    """The operating-system account running the process (the actor when nobody more precise is known)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


def current_actor() -> str:
    """Who is acting: the Prefect user who started the flow run, if any, else the operating-system user.

    Prefect is consulted only when already imported (a process outside any flow never pays its import);
    a flow run started by a schedule or by an open-source server has no user, so the OS user stands.
    """
    if "prefect" in sys.modules:
        from prefect.context import FlowRunContext

        context = FlowRunContext.get()
        creator = context.flow_run.created_by if context and context.flow_run else None
        if creator is not None and creator.display_value:
            return f"prefect:{creator.display_value}"
    return os_user()


def latest(connection: Connection, action: str, target: str) -> Row[Any] | None:
    """The most recent entry for `action` on `target` (to record a change only when something changed)."""
    return connection.execute(
        select(AUDIT)
        .where(AUDIT.c.action == action, AUDIT.c.target == target[:128])
        .order_by(AUDIT.c.id.desc())
        .limit(1)
    ).first()


def record(
    connection: Connection,
    action: str,
    target: str,
    count: int | None,
    details: dict[str, Any],
    actor: str | None = None,
) -> int:
    """Append one entry in the caller's transaction (it commits or rolls back with the work it audits).

    `actor` defaults to `current_actor()`: the Prefect user when a flow knows it, else the OS user.
    Returns the entry's id.
    """
    return connection.execute(
        insert(AUDIT)
        .values(
            at=utcnow(),
            actor=(actor or current_actor())[:128],
            action=action,
            target=target[:128],
            count=count,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        )
        .returning(AUDIT.c.id)
    ).scalar_one()
