"""desk: indexes for the queue's filters at scale — every case in SLA order (next_due_at, id)
and cases by creation time (created_at)

Revision ID: 0023
Revises: 0019
Create Date: 2026-12-07 16:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the queue without a status filter ("all") walks this instead of sorting every case
    op.create_index("ix_cases_due", "cases", ["next_due_at", "id"])
    # the queue filtered by creation date
    op.create_index("ix_cases_created_at", "cases", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_created_at", table_name="cases")
    op.drop_index("ix_cases_due", table_name="cases")
