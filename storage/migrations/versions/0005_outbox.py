"""The outbox: every message a change causes is a nudge row, with what the change said; the
live board each group chat has pinned.

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
    """Add nudges.note and boards."""
    with op.batch_alter_table("nudges") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.create_table(
        "boards",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("shown", sa.String(length=64), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_boards")),
    )


def downgrade() -> None:
    """Drop boards and nudges.note."""
    op.drop_table("boards")
    with op.batch_alter_table("nudges") as batch:
        batch.drop_column("note")
