"""letters: returned letters (plis non distribués) and the invalid-address mark on people

A letter La Poste returns is the letter channel's hard bounce: `letter_returns` keeps one row per
returned letter (its reason, and for "décédé" an operator's review), and `people.address_invalid_on`
marks the current address as one letters do not reach. The address itself is kept; a population
import that brings a different address clears the mark.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("address_invalid_on", sa.Date(), nullable=True))
    op.add_column("people", sa.Column("address_invalid_reason", sa.String(length=16), nullable=True))
    op.create_table(
        "letter_returns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "reason IN ('npai', 'unknown', 'incomplete', 'refused', 'deceased')",
            name=op.f("ck_letter_returns_reason"),
        ),
        sa.CheckConstraint("action IN ('address_invalid', 'review')", name=op.f("ck_letter_returns_action")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_letter_returns_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_letter_returns_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_returns")),
        sa.UniqueConstraint("message_id", name=op.f("uq_letter_returns_message_id")),
    )
    op.create_index(op.f("ix_letter_returns_person_id"), "letter_returns", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_letter_returns_person_id"), table_name="letter_returns")
    op.drop_table("letter_returns")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("address_invalid_reason")
        batch_op.drop_column("address_invalid_on")
