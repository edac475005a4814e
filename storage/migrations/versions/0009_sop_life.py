"""The SOP as a ministry lives it: classification, acting approvers, the gazette.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add cases.classification, approvals.on_behalf_of, gazetted_days and absences."""
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("classification", sa.String(32), nullable=False,
                                   server_default="open"))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("on_behalf_of", sa.BigInteger(), nullable=True))
    op.create_table(
        "gazetted_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("holiday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", _MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_gazetted_days"),
    )
    op.create_table(
        "absences",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("acting_id", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=False),
        sa.Column("set_at", _MOMENT, nullable=False),
        sa.Column("cancelled_at", _MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_absences"),
    )
    op.create_index("ix_absences_end", "absences", ["end"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_absences_end", table_name="absences")
    op.drop_table("absences")
    op.drop_table("gazetted_days")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("on_behalf_of")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("classification")
