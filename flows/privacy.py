"""The retention flow: purge what is older than `retention.yaml` allows, every night, counts kept."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.runtime import runtime
from outreach.privacy.purge import purge
from outreach.privacy.retention import load_policy


@flow(name="purge")
def purge_expired(dry_run: bool = False) -> dict[str, Any]:
    """Delete (or with `dry_run`, only count) every kind of data past its retention period.

    Old waves' messages are counted into `message_aggregates` first, so their reports keep working.
    """
    report = purge(runtime().engine, load_policy(), dry_run=dry_run)
    create_table_artifact(
        key="purge-dry-run" if dry_run else "purge",
        table=[{"nature": kind, "éléments": count} for kind, count in report.counts.items()],
        description="Purge à blanc : rien n'a été supprimé" if dry_run else "Purge : éléments supprimés",
    )
    get_run_logger().info("purge (dry run: %s): %s", dry_run, report.counts)
    return {"dry_run": dry_run, "counts": report.counts, "aggregated_runs": report.aggregated_runs}
