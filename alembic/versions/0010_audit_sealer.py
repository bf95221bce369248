"""audit: entries are appended unsealed and chained shortly after by a sealer, so writers never
wait on one another; the log still refuses DELETE, and UPDATE except the one that seals an
unsealed entry without changing its content

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CONTENT = ("at", "actor_id", "action", "entity", "entity_id")


def _sqlite_triggers() -> None:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)
    op.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        f"WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR {changed} "
        "OR json(NEW.data) IS NOT json(OLD.data) OR NEW.id IS NOT OLD.id "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for col in ("seq", "prev_hash", "hash"):
            op.alter_column("audit_log", col, nullable=True)
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in CONTENT)
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION kefu_audit_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
                   AND NEW.id = OLD.id AND NOT ({changed}
                        OR NEW.data::text IS DISTINCT FROM OLD.data::text) THEN
                    RETURN NEW;  -- the sealer chaining an entry, nothing else
                END IF;
                RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute("CREATE INDEX ix_audit_log_unsealed ON audit_log (id) WHERE seq IS NULL")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        with op.batch_alter_table("audit_log") as batch:
            for col in ("seq", "prev_hash", "hash"):
                batch.alter_column(col, nullable=True)
        _sqlite_triggers()


def downgrade() -> None:
    raise NotImplementedError("the audit log is append-only: there is no way back from 0010")
