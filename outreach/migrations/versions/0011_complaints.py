"""complaints: the answer given at closure, and which complaint each complaint message is about

Messages are unique per (run, step, person); the complaint journey is per complaint. The link table
`complaint_messages` says which complaint a message carries, so each complaint gets its own
acknowledgement and the template values come from that complaint.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("outcome", sa.String(length=24), nullable=True))
    op.create_table(
        "complaint_messages",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.complaint_id"],
            name=op.f("fk_complaint_messages_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_complaint_messages_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_complaint_messages")),
    )
    with op.batch_alter_table("complaint_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_messages_complaint_id"), ["complaint_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_messages_complaint_id"))
    op.drop_table("complaint_messages")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("outcome")
