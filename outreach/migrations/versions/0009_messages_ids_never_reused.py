"""delivery: a message id is never given again, so a signed link can only ever act on its own message

Unsubscribe, click, pixel and survey links carry the message id. On SQLite an INTEGER PRIMARY KEY
without AUTOINCREMENT takes max(id) + 1, so once the newest message was deleted (an erasure, a purge)
the next message got its id, and a link in the erased person's e-mail acted on someone else's
message. AUTOINCREMENT keeps the highest id ever given in `sqlite_sequence`. SQLite can only add it by
rebuilding the table (batch mode: copy, drop, rename), which keeps every row, index and constraint;
`outreach.migrate` turns foreign keys off meanwhile so the drop cascades nothing away from the tables
that reference messages. PostgreSQL sequences never give a number twice: nothing to do there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 02:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _rebuild_messages(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "messages", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild_messages(autoincrement=True)


def downgrade() -> None:
    _rebuild_messages(autoincrement=False)
