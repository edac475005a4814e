"""A row per country of a case, so that a list filtered by country reads an index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Each case's countries, from the JSON list the case row keeps (a code listed twice once).
_BACKFILL = {
    "sqlite": "INSERT INTO case_countries (case_id, country) "
              "SELECT DISTINCT cases.id, each.value FROM cases, json_each(cases.countries) AS each",
    "postgresql": "INSERT INTO case_countries (case_id, country) "
                  "SELECT DISTINCT cases.id, each.value "
                  "FROM cases, jsonb_array_elements_text(cases.countries) AS each(value)",
}


def upgrade() -> None:
    """Add case_countries, filled from cases.countries."""
    op.create_table(
        "case_countries",
        sa.Column("case_id", SERIAL, autoincrement=False, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_countries_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", "country", name=op.f("pk_case_countries")),
    )
    op.create_index("ix_case_countries_country", "case_countries", ["country", "case_id"])
    op.execute(_BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    """Drop it (the case rows still hold every country)."""
    op.drop_index("ix_case_countries_country", table_name="case_countries")
    op.drop_table("case_countries")
