"""desk: an index for the queue's date filter at scale (cases by creation time)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 16:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the queue filtered by a short creation-date range reads its cases through this
    op.create_index("ix_cases_created_at", "cases", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_created_at", table_name="cases")
