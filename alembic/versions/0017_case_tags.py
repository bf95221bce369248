"""desk: tags on cases (staff's labels, filtered by the queue and set in bulk)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_tags",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_tags_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "tag", name=op.f("pk_case_tags")),
    )
    op.create_index("ix_case_tags_tag", "case_tags", ["tag", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_tags_tag", table_name="case_tags")
    op.drop_table("case_tags")
