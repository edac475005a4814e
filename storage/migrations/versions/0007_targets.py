"""Target dates of cases, and an index for the forecast's reading of past step runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add case_targets and the step runs' (step, done_at) index."""
    op.create_table(
        "case_targets",
        sa.Column("case_id", SERIAL, autoincrement=False, nullable=False),
        sa.Column("target_on", sa.Date(), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=False),
        sa.Column("set_at", MOMENT, nullable=False),
        sa.Column("warned_late", sa.Date(), nullable=True),
        sa.Column("warned_at", MOMENT, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_targets_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_targets")),
    )
    op.create_index("ix_step_records_step_done_at", "step_records", ["step", "done_at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_step_records_step_done_at", table_name="step_records")
    op.drop_table("case_targets")
