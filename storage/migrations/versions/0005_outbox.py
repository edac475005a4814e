"""The outbox: every message a change causes is a nudge row, with what the change said.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add nudges.note."""
    with op.batch_alter_table("nudges") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop nudges.note."""
    with op.batch_alter_table("nudges") as batch:
        batch.drop_column("note")
