"""PostgreSQL: search indexes over (id, tsvector) with btree_gin.

Search reads newest-first within an id window; with the id inside the same GIN index the window
and the words are resolved together, instead of fetching every older match from the heap (the
planner underestimates multi-bigram queries and would otherwise skip the primary-key range).
SQLite keeps its FTS5 tables.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for table in ("cases", "messages"):
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        op.execute(
            f"CREATE INDEX ix_{table}_search ON {table} "
            f"USING gin (id, to_tsvector('simple', search_text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("cases", "messages"):
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        op.execute(
            f"CREATE INDEX ix_{table}_search ON {table} "
            f"USING gin (to_tsvector('simple', search_text))"
        )
