"""people: legal_representative, the organisation holding a protective measure and the measure

`people.legal_representative` reads 'ORGANISATION:measure' (e.g. 'UDAF87:curatelle_renforcee'); a
guardianship organisation's partner profile exports only the people whose measure it holds.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("legal_representative", sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("legal_representative")
