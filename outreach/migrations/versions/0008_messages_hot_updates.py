"""delivery: messages found by (run, step, id), so that deciding and claiming update rows in place

A message row is written once and updated three times (decision, claim, outcome). `status` was in an
index, so PostgreSQL wrote a new entry into each of the table's five indexes at every update. Without
`status` in an index, and with room left on each page (fillfactor), the decision and the claim are
heap-only (HOT) updates that touch no index. Sending walks a step's messages in id order, which the
new index serves directly; the other status filters read a step's rows through it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 01:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FILLFACTOR = 70
"""Percent of each page filled by inserts: the rest takes the updated versions of its rows."""


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_run_step_id", ["run_id", "step", "id"], unique=False)
        batch_op.drop_index("ix_messages_run_step_status")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE messages SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages RESET (fillfactor)")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_run_step_status", ["run_id", "step", "status"], unique=False)
        batch_op.drop_index("ix_messages_run_step_id")
