"""privacy: billed SMS parts kept in message_aggregates, so a purged wave's costs can still be shown

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 20:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_aggregates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_segments", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("message_aggregates", schema=None) as batch_op:
        batch_op.drop_column("sms_segments")
