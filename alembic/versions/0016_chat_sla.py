"""desk: SLA policies per channel — live chat gets targets of its own (minutes, not the hours of
a ticket); a policy of channel "any" stays the fallback

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-07 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sla_policies") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=8), nullable=False, server_default="any")
        )
        batch.drop_constraint("uq_sla_policies_priority", type_="unique")
        batch.create_unique_constraint(
            "uq_sla_policies_channel_priority", ["channel", "priority"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM sla_policies WHERE channel <> 'any'")
    with op.batch_alter_table("sla_policies") as batch:
        batch.drop_constraint("uq_sla_policies_channel_priority", type_="unique")
        batch.create_unique_constraint("uq_sla_policies_priority", ["priority"])
        batch.drop_column("channel")
