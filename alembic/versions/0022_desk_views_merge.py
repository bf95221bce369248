"""desk: saved views of the queue (personal or shared filter sets) and merged cases (a case
merged into another keeps a pointer to it and becomes read-only)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("sort", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_desk_saved_views_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_saved_views")),
    )
    op.create_index("ix_desk_saved_views_owner", "desk_saved_views", ["owner_id", "name"])
    if op.get_bind().dialect.name == "sqlite":
        # a plain ADD COLUMN: batch mode would copy the table and lose its full-text triggers
        op.execute(
            "ALTER TABLE cases ADD COLUMN merged_into_id INTEGER "
            "CONSTRAINT fk_cases_merged_into_id_cases REFERENCES cases (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("cases", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_cases_merged_into_id_cases",
            "cases",
            "cases",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("cases") as batch:
            batch.drop_column("merged_into_id")
        # the copy made by batch mode has none of the full-text triggers of 0002: put them back
        op.execute(
            "CREATE TRIGGER IF NOT EXISTS cases_fts_ai AFTER INSERT ON cases BEGIN "
            "INSERT INTO cases_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER IF NOT EXISTS cases_fts_ad AFTER DELETE ON cases BEGIN "
            "INSERT INTO cases_fts(cases_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER IF NOT EXISTS cases_fts_au AFTER UPDATE OF search_text ON cases BEGIN "
            "INSERT INTO cases_fts(cases_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO cases_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    else:
        op.drop_constraint("fk_cases_merged_into_id_cases", "cases", type_="foreignkey")
        op.drop_column("cases", "merged_into_id")
    op.drop_index("ix_desk_saved_views_owner", table_name="desk_saved_views")
    op.drop_table("desk_saved_views")
