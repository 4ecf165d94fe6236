"""segment refreshes and memberships (history of who entered and left each segment)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:55:23.500001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN = sa.text("left_on IS NULL")


def upgrade() -> None:
    op.create_table(
        "segment_refreshes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "refreshed_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_refreshes")),
    )
    with op.batch_alter_table("segment_refreshes", schema=None) as batch_op:
        batch_op.create_index("ix_segment_refreshes_segment_as_of", ["segment", "as_of"], unique=False)

    op.create_table(
        "segment_memberships",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("entered_refresh_id", sa.Integer(), nullable=False),
        sa.Column("left_refresh_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_segment_memberships_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_memberships")),
    )
    with op.batch_alter_table("segment_memberships", schema=None) as batch_op:
        batch_op.create_index("ix_segment_memberships_person_id", ["person_id"], unique=False)
        batch_op.create_index(
            "uq_segment_memberships_open",
            ["segment", "person_id"],
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_memberships", schema=None) as batch_op:
        batch_op.drop_index("uq_segment_memberships_open", sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index("ix_segment_memberships_person_id")
    op.drop_table("segment_memberships")
    with op.batch_alter_table("segment_refreshes", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_refreshes_segment_as_of")
    op.drop_table("segment_refreshes")
