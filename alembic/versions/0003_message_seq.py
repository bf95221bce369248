"""Per-case message sequence numbers (in-order, gap-free socket delivery).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
    # number existing messages 1, 2, 3 … within each case
    op.execute(
        "UPDATE messages SET seq = (SELECT count(*) FROM messages m2 "
        "WHERE m2.case_id = messages.case_id AND m2.id <= messages.id)"
    )
    op.execute(
        "UPDATE cases SET last_seq = (SELECT coalesce(max(seq), 0) FROM messages "
        "WHERE messages.case_id = cases.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("seq")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("last_seq")
