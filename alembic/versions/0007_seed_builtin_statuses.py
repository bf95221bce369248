"""desk: the six built-in case statuses are seeded here, so reading statuses never writes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# a copy, not an import: a migration must not change when the code does
BUILTIN = (
    ("new", "open", "新建", "New"),
    ("open", "open", "处理中", "Open"),
    ("pending", "pending", "等待客户", "Waiting on customer"),
    ("on_hold", "pending", "挂起", "On hold"),
    ("resolved", "resolved", "已解决", "Resolved"),
    ("closed", "closed", "已关闭", "Closed"),
)


def upgrade() -> None:
    conn = op.get_bind()
    table = sa.table(
        "case_statuses",
        sa.column("key", sa.String),
        sa.column("category", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("position", sa.Integer),
        sa.column("is_builtin", sa.Boolean),
    )
    have = {row[0] for row in conn.execute(sa.select(table.c.key))}
    rows = [
        {
            "key": key,
            "category": cat,
            "name_zh": zh,
            "name_en": en,
            "position": pos,
            "is_builtin": True,
        }
        for pos, (key, cat, zh, en) in enumerate(BUILTIN)
        if key not in have
    ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    pass  # the statuses may be in use by cases; leave them
