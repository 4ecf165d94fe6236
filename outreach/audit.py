"""The audit log: who took which people's data where, and when (issue 8 extends it).

Append-only by construction: this module offers `record` and nothing that updates or deletes. Entries
carry counts, names, checksums and versions, never personal data, so the log itself can be shown to a
data-protection officer or an auditor as it is.
"""

from __future__ import annotations

import getpass
import json
from typing import Any

from sqlalchemy import Connection, insert

from outreach.clock import utcnow
from outreach.models import AuditEntry

AUDIT = AuditEntry.__table__


def os_user() -> str:
    """The operating-system account running the process (the actor when nobody more precise is known)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


def record(
    connection: Connection,
    action: str,
    target: str,
    count: int | None,
    details: dict[str, Any],
    actor: str | None = None,
) -> int:
    """Append one entry in the caller's transaction (it commits or rolls back with the work it audits).

    `actor` is the Prefect user when a flow knows it; otherwise the operating-system user.
    Returns the entry's id.
    """
    return connection.execute(
        insert(AUDIT)
        .values(
            at=utcnow(),
            actor=(actor or os_user())[:128],
            action=action,
            target=target[:128],
            count=count,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        )
        .returning(AUDIT.c.id)
    ).scalar_one()
