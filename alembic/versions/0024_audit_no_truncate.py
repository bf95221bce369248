"""audit: on PostgreSQL the log refuses TRUNCATE too (row triggers do not fire on it)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no TRUNCATE; its DELETE trigger already refuses emptying the log
    op.execute(
        """
        CREATE OR REPLACE FUNCTION kefu_audit_no_truncate() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: TRUNCATE refused';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION kefu_audit_no_truncate()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS kefu_audit_no_truncate()")
