"""Apply the retention policy: delete what is too old, keep the counts, say what went.

Database kinds are purged in one transaction (an old wave's messages are counted into
`message_aggregates` before they are deleted); files are removed afterwards, oldest by modification
time. A dry run counts the same things with the same conditions and changes nothing, not even the
audit log. The audit log and the aggregates themselves are never purged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, delete, func, or_, select, update

from outreach import audit
from outreach.clock import utcnow
from outreach.config import var_dir
from outreach.models import CampaignRun, DeliveryEvent, Message, UnmatchedEvent
from outreach.privacy.aggregates import aggregate_run
from outreach.privacy.retention import RetentionPolicy

EVENTS = DeliveryEvent.__table__
UNMATCHED = UnmatchedEvent.__table__
MESSAGES = Message.__table__
RUNS = CampaignRun.__table__
DETAILED_EVENTS = ("opened", "clicked")
NO_DETAIL = "{}"


@dataclass
class PurgeReport:
    """What a purge deleted (or, for a dry run, would delete): rows or files per kind."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    aggregated_runs: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def file_folders() -> dict[str, list[Path]]:
    """Where each kind of file lives (under OUTREACH_VAR_DIR unless configured elsewhere)."""
    base = var_dir()
    drop = Path(os.environ.get("OUTREACH_PRINT_DROP_DIR", base / "outbox" / "print"))
    return {
        "previews": [base / "previews"],
        "outbox": [base / "outbox" / "email", base / "outbox" / "sms"],
        "print_batches": [drop, base / "print-work"],
        "import_reports": [base / "imports"],
        "export_files": [base / "exports"],
        "spool_files": [base / "spool"],
    }


def _old_files(folders: list[Path], cutoff: datetime) -> Iterator[Path]:
    limit = cutoff.timestamp()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            # A manifest says what left and its checksum, with no person in it: proof kept, list gone.
            if path.is_file() and not path.name.endswith(".manifest.json") and path.stat().st_mtime < limit:
                yield path


def _count(connection: Connection, table: Table, condition: ColumnElement[bool]) -> int:
    return connection.scalar(select(func.count()).select_from(table).where(condition)) or 0


def _old_runs(connection: Connection, dry_run_rows: bool, cutoff: datetime) -> list[tuple[int, date]]:
    """Runs older than `cutoff` that still have messages: (id, as_of)."""
    query = select(RUNS.c.id, RUNS.c.as_of).where(
        RUNS.c.dry_run.is_(dry_run_rows),
        RUNS.c.as_of < cutoff.date(),
        select(MESSAGES.c.id).where(MESSAGES.c.run_id == RUNS.c.id).exists(),
    )
    return [(row.id, row.as_of) for row in connection.execute(query.order_by(RUNS.c.id))]


def _purge_database(
    connection: Connection, policy: RetentionPolicy, now: datetime, report: PurgeReport
) -> None:
    counts = report.counts
    events_cutoff = policy.cutoff("delivery_events", now)
    old_events = EVENTS.c.received_at < events_cutoff
    detailed = and_(
        EVENTS.c.event.in_(DETAILED_EVENTS),
        EVENTS.c.received_at < policy.cutoff("open_click_details", now),
        EVENTS.c.received_at >= events_cutoff,
        or_(EVENTS.c.url.is_not(None), EVENTS.c.raw != NO_DETAIL),
    )
    old_unmatched = UNMATCHED.c.received_at < policy.cutoff("unmatched_events", now)
    real_runs = _old_runs(connection, False, policy.cutoff("messages", now))
    rehearsals = [run_id for run_id, _ in _old_runs(connection, True, policy.cutoff("dry_runs", now))]
    in_real_runs = MESSAGES.c.run_id.in_([run_id for run_id, _ in real_runs])
    in_rehearsals = MESSAGES.c.run_id.in_(rehearsals)

    counts["delivery_events"] = _count(connection, EVENTS, old_events)
    counts["open_click_details"] = _count(connection, EVENTS, detailed)
    counts["unmatched_events"] = _count(connection, UNMATCHED, old_unmatched)
    counts["messages"] = _count(connection, MESSAGES, in_real_runs)
    counts["dry_runs"] = _count(connection, MESSAGES, in_rehearsals)
    if report.dry_run:
        return
    connection.execute(delete(EVENTS).where(old_events))
    connection.execute(update(EVENTS).where(detailed).values(url=None, raw=NO_DETAIL))
    connection.execute(delete(UNMATCHED).where(old_unmatched))
    for run_id, as_of in real_runs:
        aggregate_run(connection, run_id, as_of, now)
        report.aggregated_runs.append(run_id)
    connection.execute(delete(MESSAGES).where(in_real_runs))
    connection.execute(delete(MESSAGES).where(in_rehearsals))


def purge(
    engine: Engine, policy: RetentionPolicy, *, dry_run: bool = False, now: datetime | None = None
) -> PurgeReport:
    """Delete (or with `dry_run`, count) every kind of data older than its retention period."""
    now = now or utcnow()
    report = PurgeReport(dry_run)
    files = {
        kind: list(_old_files(folders, policy.cutoff(kind, now))) for kind, folders in file_folders().items()
    }
    with engine.begin() as connection:
        _purge_database(connection, policy, now, report)
        report.counts.update({kind: len(paths) for kind, paths in files.items()})
        if not dry_run:
            audit.record(
                connection,
                "purge",
                "retention",
                report.total,
                {
                    "deleted": report.counts,
                    "aggregated_runs": report.aggregated_runs,
                    "policy": policy.model_dump(),
                },
            )
    if not dry_run:
        for paths in files.values():
            for path in paths:
                path.unlink(missing_ok=True)
    return report
